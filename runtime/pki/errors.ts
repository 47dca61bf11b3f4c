/** Every failure the PKI library reports on purpose: malformed input, a bad signature, a refused request. */
export class PkiError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PkiError";
  }
}
