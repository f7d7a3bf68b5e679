/** The layouts admin API as a test calls it: POST `/admin/layouts/<operation>` with a bearer token. */

/** The answer's HTTP status and JSON body (loosely typed: each test reads the fields it checks). */
export interface AdminAnswer {
  readonly status: number;
  readonly body: Record<string, any>;
}

/** POSTs `body` as JSON to `<url>/admin/layouts/<operation>` with `token`. */
export async function postLayoutAdmin(url: string, token: string, operation: string, body: unknown): Promise<AdminAnswer> {
  const res = await fetch(`${url}/admin/layouts/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as AdminAnswer['body'] };
}
