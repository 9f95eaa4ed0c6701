/** Requests and messages, as go-micro's client.NewRequest / NewMessage. */

export interface Request<T = unknown> {
  readonly service: string;
  /** `Class.method`. */
  readonly endpoint: string;
  readonly body: T;
  /** Overrides the client's content type for this request. */
  readonly contentType?: string;
}

/** A request for `client.call` or `client.stream` (go-micro's client.NewRequest). */
export function newRequest<T>(
  service: string,
  endpoint: string,
  body: T,
  options: { contentType?: string } = {},
): Request<T> {
  return { service, endpoint, body, contentType: options.contentType };
}
