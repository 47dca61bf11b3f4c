// Azure: one virtual machine scale set (VMSS) per host group, through the Azure
// SDK (ARM). Scaling updates sku.capacity; a chosen host leaves through
// deleteInstances, which lowers the capacity with it. Both are ARM long-running
// operations: the SDK polls Azure-AsyncOperation until they settle. Throttling
// (HTTP 429 with Retry-After) is retried by the SDK's pipeline.
import { ComputeManagementClient } from "@azure/arm-compute";
import type { TokenCredential } from "@azure/core-auth";
import { classifyStatus, FleetProviderError, type FleetProvider, type GroupInstance, type GroupSnapshot } from "./provider.js";

export interface AzureFleetOptions {
  subscriptionId: string;
  resourceGroup: string;
  /** default: DefaultAzureCredential (managed identity on the manager's cluster) */
  credential?: TokenCredential;
  /** ARM endpoint; default https://management.azure.com */
  endpoint?: string;
  /** extra CA certificates to trust (a test's fake endpoint) */
  ca?: string;
  maxRetries?: number;
  /** LRO polling interval */
  pollIntervalMs?: number;
}

export class AzureFleetProvider implements FleetProvider {
  readonly kind = "azure" as const;
  private client: ComputeManagementClient | undefined;

  constructor(private readonly opts: AzureFleetOptions) {}

  private async compute(): Promise<ComputeManagementClient> {
    if (this.client) return this.client;
    let credential = this.opts.credential;
    if (!credential) {
      const { DefaultAzureCredential } = await import("@azure/identity");
      credential = new DefaultAzureCredential();
    }
    this.client = new ComputeManagementClient(credential, this.opts.subscriptionId, {
      ...(this.opts.endpoint ? { endpoint: this.opts.endpoint } : {}),
      ...(this.opts.ca ? { tlsOptions: { ca: this.opts.ca } } : {}),
      retryOptions: { maxRetries: this.opts.maxRetries ?? 4, retryDelayInMs: 200, maxRetryDelayInMs: 5000 },
    } as ConstructorParameters<typeof ComputeManagementClient>[2]);
    return this.client;
  }

  async describe(group: string): Promise<GroupSnapshot> {
    const c = await this.compute();
    const vmss = await this.call("virtualMachineScaleSets.get", () => c.virtualMachineScaleSets.get(this.opts.resourceGroup, group));
    const instances: GroupInstance[] = await this.call("virtualMachineScaleSetVMs.list", async () => {
      const out: GroupInstance[] = [];
      for await (const vm of c.virtualMachineScaleSetVMs.list(this.opts.resourceGroup, group)) {
        out.push({
          id: vm.instanceId ?? "",
          state: stateOf(vm.provisioningState ?? ""),
          ...(vm.osProfile?.computerName ? { hostname: vm.osProfile.computerName } : {}),
        });
      }
      return out;
    });
    return { group, desired: Number(vmss.sku?.capacity ?? 0), min: 0, max: Number.MAX_SAFE_INTEGER, instances };
  }

  async setDesiredCapacity(group: string, desired: number): Promise<void> {
    const c = await this.compute();
    await this.call("virtualMachineScaleSets.update", async () => {
      await c.virtualMachineScaleSets.update(
        this.opts.resourceGroup,
        group,
        { sku: { capacity: desired } },
        { updateIntervalInMs: this.opts.pollIntervalMs ?? 2000 },
      );
    });
  }

  async terminateInstance(group: string, instanceId: string): Promise<void> {
    const c = await this.compute();
    await this.call("virtualMachineScaleSets.deleteInstances", async () => {
      await c.virtualMachineScaleSets.deleteInstances(
        this.opts.resourceGroup,
        group,
        { instanceIds: [instanceId] },
        { updateIntervalInMs: this.opts.pollIntervalMs ?? 2000 },
      );
    });
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const e = err as { statusCode?: number; code?: string; message?: string };
      throw new FleetProviderError(
        "azure",
        operation,
        classifyStatus(e.statusCode, e.code),
        e.message ?? String(err),
        e.statusCode,
        e.code,
      );
    }
  }
}

function stateOf(provisioning: string): GroupInstance["state"] {
  if (/^(Creating|Updating|Migrating)$/i.test(provisioning)) return "pending";
  if (/^(Deleting|Failed|Canceled)$/i.test(provisioning)) return "terminating";
  return "running";
}
