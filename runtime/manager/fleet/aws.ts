// AWS: one EC2 Auto Scaling group per host group, through the AWS SDK v3.
// SetDesiredCapacity grows a group; a chosen host leaves with
// TerminateInstanceInAutoScalingGroup(ShouldDecrementDesiredCapacity=true), so
// the group does not replace it. Throttling is retried by the SDK's standard
// retry strategy (exponential backoff with jitter, `maxAttempts` attempts).
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type AutoScalingClientConfig,
} from "@aws-sdk/client-auto-scaling";
import { classifyStatus, FleetProviderError, type FleetProvider, type GroupInstance, type GroupSnapshot } from "./provider.js";

export interface AwsFleetOptions {
  region: string;
  /** a different endpoint (a VPC endpoint, or a test's fake) */
  endpoint?: string;
  credentials?: AutoScalingClientConfig["credentials"];
  /** attempts per call, throttling included; default 5 */
  maxAttempts?: number;
}

export class AwsFleetProvider implements FleetProvider {
  readonly kind = "aws" as const;
  private readonly client: AutoScalingClient;

  constructor(opts: AwsFleetOptions) {
    this.client = new AutoScalingClient({
      region: opts.region,
      endpoint: opts.endpoint,
      credentials: opts.credentials,
      maxAttempts: opts.maxAttempts ?? 5,
      retryMode: "standard",
    });
  }

  async describe(group: string): Promise<GroupSnapshot> {
    const out = await this.call("DescribeAutoScalingGroups", () =>
      this.client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] })),
    );
    const g = out.AutoScalingGroups?.[0];
    if (!g) throw new FleetProviderError("aws", "DescribeAutoScalingGroups", "not-found", `no Auto Scaling group named ${group}`);
    const instances: GroupInstance[] = (g.Instances ?? []).map((i) => ({
      id: i.InstanceId ?? "",
      state: stateOf(i.LifecycleState ?? ""),
    }));
    return { group, desired: g.DesiredCapacity ?? 0, min: g.MinSize ?? 0, max: g.MaxSize ?? 0, instances };
  }

  async setDesiredCapacity(group: string, desired: number): Promise<void> {
    await this.call("SetDesiredCapacity", () =>
      this.client.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: desired, HonorCooldown: false })),
    );
  }

  async terminateInstance(_group: string, instanceId: string): Promise<void> {
    await this.call("TerminateInstanceInAutoScalingGroup", () =>
      this.client.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instanceId, ShouldDecrementDesiredCapacity: true })),
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof FleetProviderError) throw err;
      const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      throw new FleetProviderError("aws", operation, classifyStatus(status, e.name), e.message ?? String(err), status, e.name);
    }
  }
}

function stateOf(lifecycle: string): GroupInstance["state"] {
  if (/^(Pending|Warmed)/.test(lifecycle)) return "pending";
  if (/^(Terminating|Terminated|Detaching|Detached|EnteringStandby|Standby)/.test(lifecycle)) return "terminating";
  return "running";
}
