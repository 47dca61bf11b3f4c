import { generateKeyAndCsrAsync } from "../pki/index.js";

/**
 * Task keys and CSRs made ahead of time, off the critical path of starting a
 * task. Each is used once; the CA ignores the CSR's subject and names the
 * task in the certificate itself.
 */
export class KeyPool {
  private readonly ready: Promise<{ keyPem: string; csrPem: string }>[] = [];

  constructor(private readonly size: number) {
    this.fill();
  }

  private fill(): void {
    while (this.ready.length < this.size) {
      const p = generateKeyAndCsrAsync({ commonName: "framefleet-task" });
      p.catch(() => {});
      this.ready.push(p);
    }
  }

  async take(): Promise<{ keyPem: string; csrPem: string }> {
    const next = this.ready.shift() ?? generateKeyAndCsrAsync({ commonName: "framefleet-task" });
    this.fill();
    return next;
  }
}
