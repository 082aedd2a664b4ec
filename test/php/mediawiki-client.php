<?php
// A MediaWiki-side client for end-to-end tests: RESTBagOStuff's wire behaviour (URL = base + rawurlencode(key),
// body = TYPE.HMAC.PAYLOAD, status handling) and RedisBagOStuff's value format, computed by real PHP.
// Written from MediaWiki's documented behaviour; it is not MediaWiki's code.
//
// Usage: php mediawiki-client.php < batch.json   where batch = {"config": {...}, "ops": [...]}
// config: url, type (JSON|PHP), hmac_key (string, '' = none), write_method (POST|PUT)
// Values travel as base64 of serialize($value). Prints one JSON array of results.

function encode_body($value, array $cfg): string {
    $payload = $cfg['type'] === 'JSON' ? json_encode($value) : serialize($value);
    if ($payload === false) throw new InvalidArgumentException('value cannot be encoded');
    $hmac = $cfg['hmac_key'] !== '' ? base64_encode(hash_hmac('sha256', $payload, $cfg['hmac_key'], true)) : '';
    return $cfg['type'] . '.' . $hmac . '.' . $payload;
}

function decode_body(string $body, array $cfg) {
    $pieces = explode('.', $body, 3);
    if (count($pieces) !== 3 || $pieces[0] !== $cfg['type']) return false;
    [, $hmac, $payload] = $pieces;
    if ($cfg['hmac_key'] !== '') {
        $expected = hash_hmac('sha256', $payload, $cfg['hmac_key'], true);
        if (!hash_equals($expected, base64_decode($hmac))) return false;
    }
    if ($cfg['type'] === 'JSON') {
        $value = json_decode($payload, true);
        return json_last_error() === JSON_ERROR_NONE ? $value : false;
    }
    return unserialize($payload);
}

/** RedisBagOStuff (MediumSpecificBagOStuff::serialize): ints as bare digits, everything else serialize(). */
function redis_bytes($value): string {
    return is_int($value) ? (string)$value : serialize($value);
}

function redis_value(string $blob) {
    if ((string)(int)$blob === $blob) return (int)$blob;
    return unserialize($blob);
}

/** The values the end-to-end test sends both ways: Echo's TS_MW strings first, then whatever else BagOStuff holds. */
function sample_values(): array {
    return [
        '20201010123456', '19700101000001', 20201010123456, 0, -1, PHP_INT_MAX, PHP_INT_MIN, 1, true, null, false,
        1.5, 0.1, -0.0, 1e25, 100.0, ['a' => 1], ['x', 'y'], [1 => 'a', 3 => 'b'], ['5' => 'numeric key', 'k' => [true, null]],
        ['nested' => ['deeper' => ['deepest' => '20201010123456']]], [], 'a/b', "ünïcödé ✓ 𝄞", "quote\"back\\slash",
        "<>&'", "line\nbreak\ttab\x01", '', "\xff\xfe binary", '007', '-0', ' 5',
    ];
}

function http(string $method, string $url, array $headers = [], ?string $body = null): array {
    $opts = ['method' => $method, 'ignore_errors' => true, 'protocol_version' => 1.1, 'timeout' => 3,
        'header' => array_merge(['Connection: close', 'User-Agent: wikimedia/multi-http-client v1.1'], $headers)];
    if ($body !== null) $opts['content'] = $body;
    $response = @file_get_contents($url, false, stream_context_create(['http' => $opts]));
    $status = 0;
    foreach ($http_response_header ?? [] as $line) {
        if (preg_match('#^HTTP/\S+ (\d{3})#', $line, $m)) $status = (int)$m[1];
    }
    return [$status, $response === false ? '' : $response];
}

function run_op(array $op, array $cfg): array {
    $url = rtrim($cfg['url'], '/') . '/' . rawurlencode($op['key'] ?? '');
    $value = isset($op['value']) ? unserialize(base64_decode($op['value'])) : null;
    switch ($op['op']) {
        case 'set':
            if ($cfg['type'] === 'JSON' && json_encode($value) === false) return ['ok' => false, 'status' => 0];
            [$status] = http($cfg['write_method'], $url, ['content-type: application/octet-stream'], encode_body($value, $cfg));
            return ['ok' => in_array($status, [200, 201, 204], true), 'status' => $status];
        case 'get':
            [$status, $body] = http('GET', $url);
            $got = $status === 200 ? decode_body($body, $cfg) : false;
            return ['hit' => $got !== false, 'status' => $status, 'value' => base64_encode(serialize($got))];
        case 'delete':
            [$status] = http('DELETE', $url);
            return ['ok' => in_array($status, [200, 204, 205, 404, 410], true), 'status' => $status];
        case 'encode_body':
            $json = $cfg['type'] !== 'JSON' || json_encode($value) !== false;
            return $json ? ['bytes' => base64_encode(encode_body($value, $cfg))] : ['bytes' => null];
        case 'rest_roundtrip': // what RESTBagOStuff reads back after writing $value to a real Kask
            if ($cfg['type'] === 'JSON' && json_encode($value) === false) return ['value' => null];
            return ['value' => base64_encode(serialize(decode_body(encode_body($value, $cfg), $cfg)))];
        case 'redis_bytes':
            return ['bytes' => base64_encode(redis_bytes($value))];
        case 'sample_values':
            return ['values' => array_map(fn($v) => base64_encode(serialize($v)), sample_values())];
        case 'redis_value':
            $got = redis_value(base64_decode($op['bytes']));
            return ['hit' => $got !== false, 'value' => base64_encode(serialize($got))];
    }
    throw new InvalidArgumentException("unknown op {$op['op']}");
}

$batch = json_decode(stream_get_contents(STDIN), true);
echo json_encode(array_map(fn($op) => run_op($op, $batch['config']), $batch['ops']));
