/**
 * Domain errors. They carry no HTTP knowledge: routes/app.ts maps each name to a
 * status code in one table. Messages say what failed and the state.
 */

export class WispError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The stream (or session) asked for does not exist, or did not appear in time. */
export class NotFoundError extends WispError {}
/** The request body is malformed (not SDP, not a candidate fragment). */
export class BadRequestError extends WispError {}
/** The request is well-formed but cannot be served (no codec in common, no playable track). */
export class UnprocessableError extends WispError {}
/** A request with the wrong Content-Type. */
export class UnsupportedMediaTypeError extends WispError {}
/** A per-stream or per-server limit (viewers, waiting requests) is reached. */
export class LimitReachedError extends WispError {}
/** A writer presented a request ID that is not the stream's current one. */
export class StaleSessionError extends WispError {}
/** The client went away while the request waited. */
export class AbortedError extends WispError {}
/** Publishing or playing needs a (valid) token; `tokenRefused` when one was sent and is not accepted. */
export class UnauthorizedError extends WispError {
  constructor(
    message: string,
    readonly tokenRefused = false,
  ) {
    super(message);
  }
}
/** The credentials were given but are not allowed to do this (a token refused by the auth webhook). */
export class ForbiddenError extends WispError {}
/** A request body larger than its limit. */
export class PayloadTooLargeError extends WispError {}
/** A client that took too long: a body that did not arrive in time, a push that went silent. */
export class RequestTimeoutError extends WispError {}
/** The server takes no new sessions now (draining, or at its stream limit); `retryAfterS` says when to try again. */
export class ServiceUnavailableError extends WispError {
  constructor(
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}
