// Address planning for an OutboundOnlyNetwork: pure CIDR arithmetic, tested directly.
import { ConfigError } from "../common.js";

export function ipToInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`not an IPv4 address: ${ip}`);
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

export interface Cidr {
  base: number;
  prefix: number;
}

export function parseCidr(cidr: string, key = "cidr"): Cidr {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new ConfigError(key, `"${cidr}" is not an IPv4 CIDR block (a.b.c.d/n)`);
  let base: number;
  try {
    base = ipToInt(m[1]!);
  } catch {
    throw new ConfigError(key, `"${cidr}" is not an IPv4 CIDR block (a.b.c.d/n)`);
  }
  const prefix = Number(m[2]);
  if (prefix > 32) throw new ConfigError(key, `prefix /${prefix} is larger than /32`);
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) throw new ConfigError(key, `"${cidr}" has host bits set; use ${intToIp(base - (base % size))}/${prefix}`);
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

/** The `index`-th sub-block of length `newPrefix` inside `parent`. */
export function subnet(parent: Cidr, newPrefix: number, index: number): Cidr {
  if (newPrefix < parent.prefix) throw new Error(`/${newPrefix} does not fit in /${parent.prefix}`);
  const count = 2 ** (newPrefix - parent.prefix);
  if (index < 0 || index >= count) throw new Error(`block ${index} out of range: /${parent.prefix} holds ${count} x /${newPrefix}`);
  return { base: parent.base + index * 2 ** (32 - newPrefix), prefix: newPrefix };
}

export function isRfc1918(c: Cidr): boolean {
  const within = (net: string) => {
    const p = parseCidr(net);
    return c.prefix >= p.prefix && c.base >= p.base && c.base < p.base + 2 ** (32 - p.prefix);
  };
  return within("10.0.0.0/8") || within("172.16.0.0/12") || within("192.168.0.0/16");
}

export const MAX_ZONES = 4;

export interface AddressPlan {
  /** the whole network */
  network: string;
  /** one private (worker) subnet per zone; GCP and Azure use the first only (regional subnets) */
  private: string[];
  /** the manager cluster's nodes (AKS node subnet; GKE node subnetwork) */
  manager: string;
  /** GKE secondary range for pods */
  pods: string;
  /** GKE secondary range for services */
  services: string;
  /** a subnet delegated to the managed database (Azure flexible server) */
  database: string;
  /** small public subnets, one per zone, that hold only NAT gateways (AWS) */
  public: string[];
}

/**
 * Split the network into eight equal blocks:
 *   0-3 private worker subnets (one per zone), 4 manager nodes, 5 pods,
 *   6 services (first half) and database (second half), 7 public /26s for NAT.
 * The network must be a private (RFC 1918) block between /16 and /20.
 */
export function planAddressSpace(cidr: string, zoneCount: number, key = "framefleet:network.cidr"): AddressPlan {
  const net = parseCidr(cidr, key);
  if (net.prefix < 16 || net.prefix > 20) throw new ConfigError(key, `prefix /${net.prefix} must be between /16 and /20`);
  if (!isRfc1918(net)) throw new ConfigError(key, `"${cidr}" is not a private (RFC 1918) range`);
  if (!Number.isInteger(zoneCount) || zoneCount < 1 || zoneCount > MAX_ZONES) {
    throw new ConfigError(key.replace(/cidr$/, "zones"), `zone count ${zoneCount} must be an integer from 1 to ${MAX_ZONES}`);
  }
  const block = (i: number) => subnet(net, net.prefix + 3, i);
  const six = block(6);
  return {
    network: formatCidr(net),
    private: Array.from({ length: zoneCount }, (_, i) => formatCidr(block(i))),
    manager: formatCidr(block(4)),
    pods: formatCidr(block(5)),
    services: formatCidr(subnet(six, six.prefix + 1, 0)),
    database: formatCidr(subnet(six, six.prefix + 1, 1)),
    public: Array.from({ length: zoneCount }, (_, i) => formatCidr(subnet(block(7), 26, i))),
  };
}

/** Default availability zones for an AWS region when none are configured. */
export function defaultAwsZones(region: string, count = 3): string[] {
  return ["a", "b", "c", "d"].slice(0, count).map((z) => `${region}${z}`);
}
