// A resource as recorded by running a stack program under Pulumi's mocks.
// `npm run synth` prints these; the policy pack's offline checker feeds them to its rules.
export interface RecordedResource {
  /** Pulumi type token, e.g. "aws:ec2/vpc:Vpc" */
  type: string;
  name: string;
  urn: string;
  /** inputs as the program declared them, after resolving Outputs */
  inputs: Record<string, unknown>;
  /** URN of the parent resource, if any */
  parent?: string;
  /** paths into `inputs` that were marked secret */
  secretPaths?: string[];
}
