// The errors intake and the API raise; http.ts maps each to its status.

/** The request can't be served by this instance now; the driver should retry (HTTP 503). */
export class UnavailableError extends Error {
  constructor(
    message: string,
    readonly leaderUrl: string | null = null,
  ) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** Too much work is queued already (HTTP 429): the driver retries later. */
export class BusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BusyError';
  }
}

/** The request is larger than this controller takes (HTTP 413). */
export class TooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TooLargeError';
  }
}

/** The client went away before its request's turn came: it was not applied (nobody to answer). */
export class AbandonedError extends Error {
  constructor() {
    super('the client closed the connection before the request was applied');
    this.name = 'AbandonedError';
  }
}

/** The request names something that does not exist (HTTP 404). */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The request itself is malformed (HTTP 400). */
export class BadRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}
