// The HTTP API (/api/v1, same origin): JSON in, JSON or problem+json out (design/web.md fact 2).

export class ApiError extends Error {
  constructor(public status: number, public detail: string, public errors: Record<string, string[]> = {},
    public retryAfter: number | null = null) {
    super(detail);
    this.name = "ApiError";
  }
}

export const MSG_OFFLINE = "Der Server ist nicht erreichbar. Bitte die Verbindung prüfen und erneut versuchen.";

let token: string | null = sessionStorage.getItem("sprechzimmer.token");

export function setToken(value: string | null): void {
  token = value;
  if (value) sessionStorage.setItem("sprechzimmer.token", value);
  else sessionStorage.removeItem("sprechzimmer.token");
}

export function hasToken(): boolean {
  return token !== null;
}

/** The session token itself: the practitioner code needs it in the call's join message (docs/calls.md). */
export function currentToken(): string | null {
  return token;
}

export async function api<T>(method: string, path: string, body?: unknown, auth = false): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, MSG_OFFLINE);
  }
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const problem = (data ?? {}) as { detail?: string; errors?: Record<string, string[]> };
    const retry = response.headers.get("Retry-After");
    throw new ApiError(response.status, problem.detail ?? `Fehler ${response.status}`, problem.errors ?? {},
      retry && /^\d+$/.test(retry) ? Number(retry) : null);
  }
  return data as T;
}

/** A file from the API (e.g. an invoice PDF) with the session's token; errors as for api(). */
export async function apiFile(path: string): Promise<Blob> {
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {},
      credentials: "same-origin" });
  } catch {
    throw new ApiError(0, MSG_OFFLINE);
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({})) as { detail?: string };
    throw new ApiError(response.status, problem.detail ?? `Fehler ${response.status}`);
  }
  return response.blob();
}
