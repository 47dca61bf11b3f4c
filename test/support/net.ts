// Loopback ports for the servers the tests start (azurite, swift): the free-port
// finder is the embedded database's; this adds the readiness probe.
import net from "node:net";

export { freePort } from "../../runtime/manager/store/embedded.js";

/** Whether something accepts TCP connections on 127.0.0.1:port now. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
