// DELIBERATELY INSECURE — for the policy team's tests only. Never deploy this.
// framefleet's components offer no option for any of these mistakes, so this
// stack declares raw resources that violate the rules a reviewer checks:
//   - a worker host with a public IP, in a subnet routed to the internet gateway
//   - a security group open to 0.0.0.0/0 on every port
//   - IMDSv1 allowed (httpTokens: optional) and an unencrypted root volume
//   - a privileged pod running as root with the host's network
// It must still synth: `npm run synth -- examples/stacks/insecure`.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";

export default async function main(): Promise<Record<string, pulumi.Input<unknown>>> {
  const cfg = new pulumi.Config("framefleet");
  const region = cfg.require("region");
  const provider = new aws.Provider("aws", { region: region as aws.Region });
  const opts = { provider };

  const vpc = new aws.ec2.Vpc("insecure-vpc", { cidrBlock: "10.99.0.0/16" }, opts);
  const igw = new aws.ec2.InternetGateway("insecure-igw", { vpcId: vpc.id }, opts);
  const subnet = new aws.ec2.Subnet("insecure-workers", { vpcId: vpc.id, cidrBlock: "10.99.0.0/24", mapPublicIpOnLaunch: true }, opts);
  const rt = new aws.ec2.RouteTable("insecure-rt", { vpcId: vpc.id }, opts);
  new aws.ec2.Route("insecure-default", { routeTableId: rt.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id }, opts);
  new aws.ec2.RouteTableAssociation("insecure-workers", { subnetId: subnet.id, routeTableId: rt.id }, opts);

  const sg = new aws.ec2.SecurityGroup(
    "insecure-workers",
    {
      vpcId: vpc.id,
      description: "open to the world",
      ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
      egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
    },
    opts,
  );
  const lt = new aws.ec2.LaunchTemplate(
    "insecure-workers",
    {
      imageId: "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
      instanceType: "c7i.large",
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "optional", httpPutResponseHopLimit: 2 },
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 50, encrypted: "false" } }],
      networkInterfaces: [{ deviceIndex: 0, associatePublicIpAddress: "true", securityGroups: [sg.id], subnetId: subnet.id }],
      userData: Buffer.from("#!/bin/bash\nexport FRAMEFLEET_JOIN_TOKEN=plaintext-long-lived-token\n").toString("base64"),
    },
    opts,
  );
  new aws.autoscaling.Group(
    "insecure-workers",
    { minSize: 1, maxSize: 3, desiredCapacity: 1, vpcZoneIdentifiers: [subnet.id], launchTemplate: { id: lt.id, version: "$Latest" } },
    opts,
  );

  const cluster = new k8s.Provider("insecure-k8s", { kubeconfig: "{}" });
  new k8s.core.v1.Pod(
    "insecure-worker",
    {
      metadata: { name: "insecure-worker", namespace: "default" },
      spec: {
        hostNetwork: true,
        containers: [
          {
            name: "engine",
            image: "ghcr.io/framefleet/engine-ffmpeg:latest",
            securityContext: { privileged: true, runAsUser: 0, allowPrivilegeEscalation: true },
          },
        ],
      },
    },
    { provider: cluster },
  );
  return { vpcId: vpc.id };
}
