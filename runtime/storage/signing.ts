// Task-scoped access without credentials on the worker. The manager (which holds the
// store's credentials) signs requests; a worker only ever sees signed requests for the
// exact keys of its assignment (reads) and keys under its attempt's staging prefix
// (writes). A SignedRequest is a complete HTTP request minus the body: the worker sends
// it as is and never builds or signs a URL itself.

export interface SignedRequest {
  method: "GET" | "PUT" | "HEAD";
  url: string;
  /** headers the signature expects (e.g. Azure's x-ms-blob-type); the worker adds no others that are signed */
  headers?: Record<string, string>;
  /** ISO time after which the request is refused by the store */
  expires: string;
}

export interface MultipartPart {
  partNumber: number;
  /** what the store answered for the part (S3: ETag; Azure: the block id) */
  etag: string;
}

/** What a cloud store can sign. Implemented by S3Store, GcsStore and AzureStore (manager side only). */
export interface UrlSigner {
  signGet(key: string, expiresInSeconds: number): Promise<SignedRequest>;
  signPut(key: string, expiresInSeconds: number): Promise<SignedRequest>;
  /** starts a multipart (S3) / block (Azure) / resumable (GCS) upload; answers its id */
  createMultipart(key: string): Promise<string>;
  signPart(key: string, uploadId: string, partNumber: number, expiresInSeconds: number): Promise<SignedRequest>;
  completeMultipart(key: string, uploadId: string, parts: MultipartPart[]): Promise<void>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
}

export function isUrlSigner(x: unknown): x is UrlSigner {
  return !!x && typeof (x as UrlSigner).signGet === "function" && typeof (x as UrlSigner).signPut === "function";
}

/** Part size for multipart transfers: S3's minimum is 5 MiB (except the last part). */
export const PART_SIZE = 8 * 1024 * 1024;

export function expiresAt(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toISOString();
}

/** Transfer progress: bytes so far and, when known, the total. */
export type TransferProgress = (p: { key: string; loaded: number; total?: number }) => void;
