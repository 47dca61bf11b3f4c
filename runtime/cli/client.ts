// A small REST client for the CLI; errors surface the server's problem details.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { title?: string; detail?: string; errors?: { field: string; reason: string }[] } | undefined,
  ) {
    const fields = problem?.errors?.map((e) => `  ${e.field}: ${e.reason}`).join("\n");
    const title = problem?.title ?? "error";
    const detail = problem?.detail && !problem.detail.startsWith(title) ? `: ${problem.detail}` : "";
    super(`${status} ${title}${detail}${fields ? `\n${fields}` : ""}`);
  }
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly key: string,
  ) {}

  /** An open response for a streaming endpoint (Server-Sent Events); the caller reads and cancels its body. */
  async stream(pathname: string, signal?: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(new URL(pathname, this.baseUrl), {
        headers: { authorization: `Bearer ${this.key}`, accept: "text/event-stream" },
        signal,
      });
    } catch (err) {
      throw new Error(`cannot reach the manager at ${this.baseUrl}: ${(err as Error).message}. Is \`framefleet start\` running?`);
    }
    if (!res.ok) {
      const text = await res.text();
      throw new ApiError(res.status, text ? (JSON.parse(text) as ApiError["problem"]) : undefined);
    }
    return res;
  }

  async request<T>(method: string, pathname: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(pathname, this.baseUrl), {
        method,
        headers: { authorization: `Bearer ${this.key}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      throw new Error(`cannot reach the manager at ${this.baseUrl}: ${(err as Error).message}. Is \`framefleet start\` running?`);
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) throw new ApiError(res.status, parsed as ApiError["problem"]);
    return parsed as T;
  }
}
