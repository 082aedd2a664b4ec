// The headers MediaWiki's MultiHttpClient puts on every RESTBagOStuff request (MediaWiki 1.41 and later), so the
// bench's load costs the proxies what production's does: the sidecar forwards the request id to Kask instead of
// making one up, nginx passes both on. (GETs also carry `Content-Length: 0`, which wrk cannot send on a GET.)
export const MEDIAWIKI_HEADERS: Readonly<Record<string, string>> = {
  'user-agent': 'wikimedia/multi-http-client v1.1',
  // MediaWiki's own fallback id is 24 random characters; one fixed id costs what a fresh one per request would.
  'x-request-id': 'c2FtcGxlLXJlcXVlc3QtaWQx',
};
