// PHP's JSON functions as RESTBagOStuff calls them: json_encode($v) with default flags and json_decode($s, true).

export { jsonDecode } from './json-decode.js';
export { jsonEncode } from './json-encode.js';
