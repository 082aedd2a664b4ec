// Kask's RFC 7807-shaped error bodies, byte for byte (kask http.go): the only error shape the data path speaks.
import type { ServerResponse } from 'node:http';
import { goJsonString } from './go-json.js';

interface ProblemKind {
  status: number;
  type: string;
  title: string;
  detail: string;
}

const BASE = 'https://www.mediawiki.org/wiki/Kask/errors/';
const BAD_REQUEST: ProblemKind = {
  status: 400,
  type: `${BASE}bad_request`,
  title: 'Bad request',
  detail: 'The request was incorrect or malformed',
};
const NOT_FOUND: ProblemKind = {
  status: 404,
  type: `${BASE}not_found`,
  title: 'Not found',
  detail: 'The value you requested was not found',
};
const SERVER_ERROR: ProblemKind = {
  status: 500,
  type: `${BASE}server_error`,
  title: 'Internal server error',
  detail: 'The server encountered an error with your request',
};

export type ProblemName = 'badRequest' | 'notFound' | 'serverError';
const KINDS: Record<ProblemName, ProblemKind> = {
  badRequest: BAD_REQUEST,
  notFound: NOT_FOUND,
  serverError: SERVER_ERROR,
};

/** The body Go's json.MarshalIndent(problem, "", "  ") writes, plus the trailing newline Kask adds. */
export function problemBody(name: ProblemName, instance: Uint8Array): Buffer {
  const kind = KINDS[name];
  return Buffer.from(
    `{\n  "type": "${kind.type}",\n  "title": "${kind.title}",\n  "detail": "${kind.detail}",\n  "instance": ${goJsonString(instance)}\n}\n`,
    'utf8',
  );
}

/**
 * Writes a problem answer. `instance` is the decoded request path without the query, as Kask reports it.
 * HEAD requests get the same headers and no body (Node drops it), as Go does.
 */
export function writeProblem(
  res: ServerResponse,
  name: ProblemName,
  instance: Uint8Array,
  close = false,
): void {
  const kind = KINDS[name];
  const body = problemBody(name, instance);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': body.length,
  };
  if (close) headers.Connection = 'close';
  res.writeHead(kind.status, headers);
  res.end(body);
}

export const badRequest = (res: ServerResponse, instance: Uint8Array, close = false): void =>
  writeProblem(res, 'badRequest', instance, close);
export const notFound = (res: ServerResponse, instance: Uint8Array): void =>
  writeProblem(res, 'notFound', instance);
export const serverError = (res: ServerResponse, instance: Uint8Array): void =>
  writeProblem(res, 'serverError', instance);
