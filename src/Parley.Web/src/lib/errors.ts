import type { ProblemDetails } from './types';

/** The server answered with an error status; `problem` holds its RFC 9457 body when it sent one. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: ProblemDetails;

  constructor(status: number, problem: ProblemDetails) {
    super(problem.detail || problem.title || `Request failed with status ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }

  /** Messages for one field (camelCase name, as the server sends them). */
  fieldErrors(field: string): string[] {
    const errors = this.problem.errors;
    if (!errors) return [];
    const key = Object.keys(errors).find((k) => k.toLowerCase() === field.toLowerCase());
    return key ? (errors[key] ?? []) : [];
  }
}

/** The request never got an answer: the network is down or the server is unreachable. */
export class NetworkError extends Error {
  constructor(cause?: unknown) {
    super('Could not reach the server. Check your connection and try again.', { cause });
    this.name = 'NetworkError';
  }
}

/** The session is over (refresh failed): the app shows the login screen. */
export class SessionExpiredError extends Error {
  constructor() {
    super('Your session has expired. Please log in again.');
    this.name = 'SessionExpiredError';
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException
    ? error.name === 'AbortError'
    : error instanceof Error && error.name === 'AbortError';
}

/** Reads a failed response into an ApiError, whether or not its body is problem+json. */
export async function toApiError(response: Response): Promise<ApiError> {
  let problem: ProblemDetails = { status: response.status, title: response.statusText || undefined };
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      const body: unknown = await response.json();
      if (typeof body === 'object' && body !== null) problem = { ...problem, ...(body as ProblemDetails) };
    } catch {
      // A broken error body still leaves us the status code.
    }
  }
  return new ApiError(response.status, problem);
}

/** A sentence to show a person for any error the API layer can throw. */
export function describeError(error: unknown): string {
  if (error instanceof NetworkError || error instanceof SessionExpiredError) return error.message;
  if (error instanceof ApiError) {
    const { status, problem } = error;
    if (status === 402) {
      return "You're out of tokens. Your message was not sent; you can send it again once your balance is topped up.";
    }
    if (status === 429) return problem.detail || 'Too many requests right now. Please wait a moment and try again.';
    if (status === 404) return problem.detail || 'That conversation no longer exists.';
    if (status >= 500) {
      const trace = problem.traceId ? ` (trace id ${problem.traceId})` : '';
      return `The server ran into a problem. Please try again.${trace}`;
    }
    const fields = problem.errors ? Object.values(problem.errors).flat() : [];
    if (fields.length > 0) return fields.join(' ');
    return problem.detail || problem.title || `Request failed (${status}).`;
  }
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}
