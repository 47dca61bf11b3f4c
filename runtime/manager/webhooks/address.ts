// Which webhook URLs the manager will call. An endpoint is a URL a tenant gives
// us, and the manager calls it from inside the customer's network: left
// unchecked, that is a server-side request forgery primitive against the cloud
// metadata service, the database and every private service. So an endpoint must
// resolve only to public unicast addresses, checked when it is registered and
// again on every connection (the connection uses the address that was checked,
// so DNS rebinding between check and connect gains nothing). An operator may
// allow private addresses (a receiver on the same network; tests on loopback)
// with the manager's `webhooks.allowPrivateAddresses` setting.
import dns from "node:dns";
import net from "node:net";
import ipaddr from "ipaddr.js";

export class AddressRefusedError extends Error {
  readonly code = "EFRAMEFLEET_ADDRESS_REFUSED";
  constructor(message: string) {
    super(message);
    this.name = "AddressRefusedError";
  }
}

/**
 * Why an address may not be called, or undefined for a public unicast address.
 * ipaddr.js names the range: loopback, private (RFC 1918), linkLocal (169.254/16,
 * which holds the cloud metadata services), uniqueLocal (fc00::/7, AWS's
 * fd00:ec2::254), carrierGradeNat (100.64/10, Alibaba's metadata), unspecified,
 * multicast, broadcast, reserved, and the IPv6 transition ranges (6to4, teredo,
 * NAT64) that can carry a private IPv4 address inside.
 */
export function addressRefusal(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const ip = ipaddr.process(address); // IPv4-mapped IPv6 (::ffff:10.0.0.1) becomes the IPv4 address
  const range = ip.range();
  return range === "unicast" ? undefined : `${ip.toString()} is a ${range} address`;
}

export interface UrlCheck {
  ok: boolean;
  reason?: string;
  addresses?: string[];
}

/** Parses and resolves an endpoint URL; refuses anything but http(s) to public addresses (unless allowed). */
export async function checkEndpointUrl(raw: string, opts: { allowPrivateAddresses: boolean }): Promise<UrlCheck> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not an absolute URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { ok: false, reason: `scheme ${url.protocol} is not http or https` };
  if (url.username || url.password)
    return { ok: false, reason: "credentials in the URL are not allowed; authenticate the request by its signature" };
  if (url.hash) return { ok: false, reason: "a fragment is not allowed" };
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (err) {
      return { ok: false, reason: `${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
    }
  }
  if (!opts.allowPrivateAddresses) {
    for (const a of addresses) {
      const why = addressRefusal(a);
      if (why)
        return {
          ok: false,
          reason: `${host} resolves to ${why}; private, loopback, link-local and metadata addresses are refused`,
          addresses,
        };
    }
  }
  return { ok: true, addresses };
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** A `lookup` for http.request that refuses private addresses at connect time. */
export function guardedLookup(allowPrivateAddresses: boolean) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (err, addrs) => {
      if (err) return callback(err, []);
      const list = addrs as dns.LookupAddress[];
      if (!allowPrivateAddresses) {
        for (const a of list) {
          const why = addressRefusal(a.address);
          if (why) return callback(new AddressRefusedError(`${hostname} resolves to ${why}`) as NodeJS.ErrnoException, []);
        }
      }
      if (list.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), []);
      if (options.all) callback(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
