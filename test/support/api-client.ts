/** A small client for tests that drive the API over HTTP, as a provincial system would. */
export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export function apiClient(baseUrl: string, token?: string) {
  async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { json?: unknown; csv?: string; headers?: Record<string, string> } = {},
  ): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers };
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.csv !== undefined) {
      headers['content-type'] = 'text/csv';
      body = options.csv;
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }
  return {
    get: <T = Record<string, unknown>>(path: string, headers?: Record<string, string>) => call<T>('GET', path, headers ? { headers } : {}),
    post: <T = Record<string, unknown>>(path: string, json?: unknown) => call<T>('POST', path, json === undefined ? {} : { json }),
    postCsv: <T = Record<string, unknown>>(path: string, csv: string) => call<T>('POST', path, { csv }),
    call,
  };
}

/** Twelve-digit personal IDs consistent with a birth date and gender (structure of domain.md). */
export function personalIdFor(prefix: string, dateOfBirth: string, gender: 'M' | 'F', tail: number): string {
  const year = Number(dateOfBirth.slice(0, 4));
  const century = Math.floor((year - 1900) / 100);
  const digit = century * 2 + (gender === 'F' ? 1 : 0);
  return `${prefix}${digit}${String(year % 100).padStart(2, '0')}${String(tail).padStart(6, '0')}`;
}
