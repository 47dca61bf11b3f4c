// List prices the autoscaler, the usage meter and the benchmark estimate cost
// with. Approximate public on-demand list prices (USD per hour, Linux) and a
// typical spot price for each; spot moves daily, so treat spot as an estimate.
// Edit here, or pass a table, when a region's prices differ.

export interface InstancePrice {
  cloud: "aws" | "gcp" | "azure" | "local";
  cpuMillis: number;
  memoryMb: number;
  gpus: number;
  onDemandPerHour: number;
  spotPerHour: number;
}

export const INSTANCE_PRICES: Record<string, InstancePrice> = {
  // AWS us-east-1
  // spot for c7i.xlarge: half the 2xlarge estimate (spot, like list prices, scales with size within a family)
  "c7i.xlarge": { cloud: "aws", cpuMillis: 4000, memoryMb: 8192, gpus: 0, onDemandPerHour: 0.1785, spotPerHour: 0.0675 },
  "c7i.2xlarge": { cloud: "aws", cpuMillis: 8000, memoryMb: 16_384, gpus: 0, onDemandPerHour: 0.357, spotPerHour: 0.135 },
  "c7i.4xlarge": { cloud: "aws", cpuMillis: 16_000, memoryMb: 32_768, gpus: 0, onDemandPerHour: 0.714, spotPerHour: 0.27 },
  "c7i.8xlarge": { cloud: "aws", cpuMillis: 32_000, memoryMb: 65_536, gpus: 0, onDemandPerHour: 1.428, spotPerHour: 0.54 },
  "r7i.4xlarge": { cloud: "aws", cpuMillis: 16_000, memoryMb: 131_072, gpus: 0, onDemandPerHour: 1.058, spotPerHour: 0.4 },
  "g5.xlarge": { cloud: "aws", cpuMillis: 4000, memoryMb: 16_384, gpus: 1, onDemandPerHour: 1.006, spotPerHour: 0.4 },
  "g5.2xlarge": { cloud: "aws", cpuMillis: 8000, memoryMb: 32_768, gpus: 1, onDemandPerHour: 1.212, spotPerHour: 0.48 },
  // the shapes the example stacks use; spot estimated at the family's usual ~38% of on-demand
  "c7i.large": { cloud: "aws", cpuMillis: 2000, memoryMb: 4096, gpus: 0, onDemandPerHour: 0.08925, spotPerHour: 0.034 },
  "c6i.large": { cloud: "aws", cpuMillis: 2000, memoryMb: 4096, gpus: 0, onDemandPerHour: 0.085, spotPerHour: 0.032 },
  "c6i.4xlarge": { cloud: "aws", cpuMillis: 16_000, memoryMb: 32_768, gpus: 0, onDemandPerHour: 0.68, spotPerHour: 0.26 },
  "c7a.2xlarge": { cloud: "aws", cpuMillis: 8000, memoryMb: 16_384, gpus: 0, onDemandPerHour: 0.41056, spotPerHour: 0.156 },
  "m7i.xlarge": { cloud: "aws", cpuMillis: 4000, memoryMb: 16_384, gpus: 0, onDemandPerHour: 0.2016, spotPerHour: 0.077 },
  "g6.2xlarge": { cloud: "aws", cpuMillis: 8000, memoryMb: 32_768, gpus: 1, onDemandPerHour: 0.9776, spotPerHour: 0.39 },
  "g6.4xlarge": { cloud: "aws", cpuMillis: 16_000, memoryMb: 65_536, gpus: 1, onDemandPerHour: 1.3232, spotPerHour: 0.53 },
  // GCP us-central1
  "c3-standard-8": { cloud: "gcp", cpuMillis: 8000, memoryMb: 32_768, gpus: 0, onDemandPerHour: 0.418, spotPerHour: 0.17 },
  "g2-standard-8": { cloud: "gcp", cpuMillis: 8000, memoryMb: 32_768, gpus: 1, onDemandPerHour: 0.854, spotPerHour: 0.34 },
  "e2-standard-2": { cloud: "gcp", cpuMillis: 2000, memoryMb: 8192, gpus: 0, onDemandPerHour: 0.067, spotPerHour: 0.027 },
  "n2-standard-4": { cloud: "gcp", cpuMillis: 4000, memoryMb: 16_384, gpus: 0, onDemandPerHour: 0.1942, spotPerHour: 0.078 },
  "n2-standard-8": { cloud: "gcp", cpuMillis: 8000, memoryMb: 32_768, gpus: 0, onDemandPerHour: 0.3885, spotPerHour: 0.155 },
  // Azure East US
  Standard_F16s_v2: { cloud: "azure", cpuMillis: 16_000, memoryMb: 32_768, gpus: 0, onDemandPerHour: 0.677, spotPerHour: 0.14 },
  Standard_NC4as_T4_v3: { cloud: "azure", cpuMillis: 4000, memoryMb: 28_672, gpus: 1, onDemandPerHour: 0.526, spotPerHour: 0.21 },
  Standard_NC8as_T4_v3: { cloud: "azure", cpuMillis: 8000, memoryMb: 57_344, gpus: 1, onDemandPerHour: 0.752, spotPerHour: 0.3 },
  Standard_D16as_v5: { cloud: "azure", cpuMillis: 16_000, memoryMb: 65_536, gpus: 0, onDemandPerHour: 0.688, spotPerHour: 0.14 },
  Standard_D4s_v5: { cloud: "azure", cpuMillis: 4000, memoryMb: 16_384, gpus: 0, onDemandPerHour: 0.192, spotPerHour: 0.04 },
  // the embedded region's own machine costs nothing extra
  local: { cloud: "local", cpuMillis: 0, memoryMb: 0, gpus: 0, onDemandPerHour: 0, spotPerHour: 0 },
};

export function pricePerHour(instanceType: string, capacityType: string, table: Record<string, InstancePrice> = INSTANCE_PRICES): number {
  const p = table[instanceType];
  if (!p) return 0;
  return capacityType === "spot" ? p.spotPerHour : p.onDemandPerHour;
}

export type ResolutionTier = "SD" | "HD" | "UHD";

export function tierOf(height: number): ResolutionTier {
  return height < 720 ? "SD" : height <= 1080 ? "HD" : "UHD";
}

/**
 * AWS Elemental MediaConvert on-demand list price per output minute (basic
 * tier, AVC/HEVC single pass, up to 30 fps, us-east-1): what the same outputs
 * would have cost on a managed service.
 */
export const MEDIACONVERT_PER_OUTPUT_MINUTE: Record<ResolutionTier, number> = { SD: 0.0075, HD: 0.015, UHD: 0.03 };

export function managedServiceCost(outputMinutesByTier: Partial<Record<ResolutionTier, number>>): number {
  let usd = 0;
  for (const [tier, minutes] of Object.entries(outputMinutesByTier))
    usd += (minutes ?? 0) * MEDIACONVERT_PER_OUTPUT_MINUTE[tier as ResolutionTier];
  return usd;
}

/** Per-second billing with a one-minute minimum (EC2, Compute Engine and Azure VMs alike). */
export function billedCost(seconds: number, perHour: number): number {
  return (Math.max(60, seconds) * perHour) / 3600;
}
