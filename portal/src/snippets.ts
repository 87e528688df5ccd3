// Code samples partners can run as they are, with nothing of ours installed: curl with the
// API key, and the HMAC signature (Alibaba Cloud API Gateway's app signature, the recipe of
// src/domain/string-to-sign.ts) in bash with openssl and curl, Node, Python, Java and Go,
// each with its standard library only. Pure text generation, shared by the portal and the
// tests that run every sample against a real gateway. Secrets are never written into a
// sample: they come from API_KEY and APP_SECRET in the environment.

export interface SnippetRequest {
  method: string
  /** gateway base URL, no trailing slash */
  baseUrl: string
  /** the path as sent: path parameters filled in and percent-encoded */
  path: string
  /** decoded query parameters, in the order they are sent */
  query: Array<[string, string]>
  /** a JSON request body */
  body?: string
  /** the app key (public; the secret and the API key are not) */
  key: string
}

export type SnippetLanguage = 'curl' | 'bash' | 'node' | 'python' | 'java' | 'go'

export const SNIPPET_LANGUAGES: ReadonlyArray<{ id: SnippetLanguage, label: string, auth: 'apikey' | 'hmac', file: string }> = [
  { id: 'curl', label: 'curl (API key)', auth: 'apikey', file: 'call.sh' },
  { id: 'bash', label: 'bash + openssl', auth: 'hmac', file: 'call.sh' },
  { id: 'node', label: 'Node.js', auth: 'hmac', file: 'call.mjs' },
  { id: 'python', label: 'Python', auth: 'hmac', file: 'call.py' },
  { id: 'java', label: 'Java', auth: 'hmac', file: 'Call.java' },
  { id: 'go', label: 'Go', auth: 'hmac', file: 'call.go' }
]

/** The samples that fit an API's authentication modes. */
export function snippetLanguagesFor (auth: readonly string[]): typeof SNIPPET_LANGUAGES {
  return SNIPPET_LANGUAGES.filter(language => auth.includes(language.auth))
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'
const SIGNED_HEADER_NAMES = 'x-ca-key,x-ca-nonce,x-ca-signature-method,x-ca-timestamp'

const shellQuote = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`
// a JSON string literal is also a valid string literal in JavaScript, Python, Java and Go
const literal = (text: string): string => JSON.stringify(text)
// Java before 18 reads source files in the platform's encoding: keep its literals ASCII
const javaLiteral = (text: string): string => literal(text).replace(/[\u0080-\uffff]/g, character => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`)

export function urlOf (request: SnippetRequest): string {
  const query = request.query.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')
  return request.baseUrl + request.path + (query === '' ? '' : `?${query}`)
}

/** The path and the query parameters as signed: decoded, first value per name, sorted by name, a bare name when empty. */
export function signedPathAndQuery (request: Pick<SnippetRequest, 'path' | 'query'>): string {
  const first = new Map<string, string>()
  for (const [name, value] of request.query) if (!first.has(name)) first.set(name, value)
  const names = [...first.keys()].sort((left, right) => (left < right ? -1 : left > right ? 1 : 0))
  const pairs = names.map(name => (first.get(name) === '' ? name : `${name}=${first.get(name) as string}`))
  return request.path + (pairs.length === 0 ? '' : `?${pairs.join('&')}`)
}

function curlSnippet (request: SnippetRequest): string {
  const option = request.method === 'GET' ? '' : request.method === 'HEAD' ? '--head ' : `-X ${request.method} `
  const lines = [`curl -sS --fail-with-body ${option}${shellQuote(urlOf(request))}`, '  -H "X-Api-Key: $API_KEY"', "  -H 'Accept: application/json'"]
  if (request.body !== undefined) lines.push(`  -H 'Content-Type: ${JSON_CONTENT_TYPE}'`, `  --data-raw ${shellQuote(request.body)}`)
  return '# curl with the API key. Run with API_KEY set to the API key shown when the credential was created.\n' + lines.join(' \\\n')
}

function bashSnippet (request: SnippetRequest): string {
  const hasBody = request.body !== undefined
  return `#!/usr/bin/env bash
# HMAC-SHA256 signature (compatible with Alibaba Cloud API Gateway's app signature) with
# openssl and curl only. Run with APP_SECRET set to the app's secret.
set -euo pipefail
app_key=${shellQuote(request.key)}
method=${shellQuote(request.method)}
url=${shellQuote(urlOf(request))}
# the path as sent, then the query parameters decoded and sorted by name (a bare name when empty)
path_and_query=${shellQuote(signedPathAndQuery(request))}
accept='application/json'
${hasBody
  ? `body=${shellQuote(request.body as string)}
content_type=${shellQuote(JSON_CONTENT_TYPE)}
content_md5=$(printf '%s' "$body" | openssl dgst -md5 -binary | openssl base64 -A)`
  : `content_type=''
content_md5=''`}
timestamp="$(date +%s)000"
nonce=$(openssl rand -hex 16)
# method, Accept, Content-MD5, Content-Type and Date (empty) on a line each, then the
# signed X-Ca-* headers sorted by name as "name:value", then the path and query
string_to_sign="$method
$accept
$content_md5
$content_type

x-ca-key:$app_key
x-ca-nonce:$nonce
x-ca-signature-method:HmacSHA256
x-ca-timestamp:$timestamp
$path_and_query"
signature=$(printf '%s' "$string_to_sign" | openssl dgst -sha256 -hmac "$APP_SECRET" -binary | openssl base64 -A)
# -i shows the response headers: on a 401, X-Ca-Error-Message holds the server's string-to-sign (newlines as #)
curl -sS -i --fail-with-body -X "$method" "$url" \\
  -H "Accept: $accept" \\
${hasBody ? '  -H "Content-Type: $content_type" \\\n  -H "Content-MD5: $content_md5" \\\n' : ''}  -H "X-Ca-Key: $app_key" \\
  -H "X-Ca-Nonce: $nonce" \\
  -H 'X-Ca-Signature-Method: HmacSHA256' \\
  -H "X-Ca-Timestamp: $timestamp" \\
  -H 'X-Ca-Signature-Headers: ${SIGNED_HEADER_NAMES}' \\
  -H "X-Ca-Signature: $signature"${hasBody ? ' \\\n  --data-raw "$body"' : ''}`
}

function nodeSnippet (request: SnippetRequest): string {
  const hasBody = request.body !== undefined
  return `// Node.js 18+, no dependencies: HMAC-SHA256 signature (compatible with Alibaba Cloud API
// Gateway's app signature). Save as call.mjs and run with APP_SECRET set to the app's secret.
import { createHash, createHmac, randomUUID } from 'node:crypto'

const appKey = ${literal(request.key)}
const appSecret = process.env.APP_SECRET
const method = ${literal(request.method)}
const url = new URL(${literal(urlOf(request))})
${hasBody ? `const body = ${literal(request.body as string)}` : 'const body = undefined'}

const headers = {
  accept: 'application/json',
${hasBody ? `  'content-type': ${literal(JSON_CONTENT_TYPE)},\n  'content-md5': createHash('md5').update(body).digest('base64'),\n` : ''}  'x-ca-key': appKey,
  'x-ca-nonce': randomUUID(),
  'x-ca-signature-method': 'HmacSHA256',
  'x-ca-timestamp': String(Date.now())
}
// the query parameters decoded, the first value of each name, sorted by name ("name=value", a bare name when empty)
const query = [...new Set(url.searchParams.keys())].sort()
  .map(name => (url.searchParams.get(name) === '' ? name : \`\${name}=\${url.searchParams.get(name)}\`)).join('&')
// the X-Ca-* headers are signed, sorted by name, as "name:value\\n"
const signed = Object.keys(headers).filter(name => name.startsWith('x-ca-')).sort()
const stringToSign = [method, headers.accept, headers['content-md5'] ?? '', headers['content-type'] ?? '', ''].join('\\n') + '\\n' +
  signed.map(name => \`\${name}:\${headers[name]}\\n\`).join('') +
  url.pathname + (query === '' ? '' : \`?\${query}\`)
headers['x-ca-signature-headers'] = signed.join(',')
headers['x-ca-signature'] = createHmac('sha256', appSecret).update(stringToSign).digest('base64')

const response = await fetch(url, { method, headers, body })
console.log(response.status, await response.text())
// on a 401 BAD_SIGNATURE: the string-to-sign the server computed, newlines shown as #
const serverStringToSign = response.headers.get('x-ca-error-message')
if (serverStringToSign !== null) console.error(serverStringToSign)
if (!response.ok) process.exitCode = 1`
}

function pythonSnippet (request: SnippetRequest): string {
  const hasBody = request.body !== undefined
  return `# Python 3, standard library only: HMAC-SHA256 signature (compatible with Alibaba Cloud API
# Gateway's app signature). Run with APP_SECRET set to the app's secret.
import base64, hashlib, hmac, os, sys, time, uuid
import urllib.error, urllib.parse, urllib.request

app_key = ${literal(request.key)}
app_secret = os.environ["APP_SECRET"]
method = ${literal(request.method)}
url = ${literal(urlOf(request))}
body = ${hasBody ? `${literal(request.body as string)}.encode()` : 'None'}

headers = {
    "accept": "application/json",
${hasBody ? `    "content-type": ${literal(JSON_CONTENT_TYPE)},\n    "content-md5": base64.b64encode(hashlib.md5(body).digest()).decode(),\n` : ''}    "x-ca-key": app_key,
    "x-ca-nonce": str(uuid.uuid4()),
    "x-ca-signature-method": "HmacSHA256",
    "x-ca-timestamp": str(int(time.time() * 1000)),
}
parts = urllib.parse.urlsplit(url)
# the query parameters decoded, the first value of each name, sorted by name ("name=value", a bare name when empty)
params = {}
for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
    params.setdefault(name, value)
query = "&".join(name if params[name] == "" else f"{name}={params[name]}" for name in sorted(params))
# the X-Ca-* headers are signed, sorted by name, as "name:value\\n"
signed = sorted(name for name in headers if name.startswith("x-ca-"))
string_to_sign = "\\n".join([method, headers["accept"], headers.get("content-md5", ""), headers.get("content-type", ""), ""]) + "\\n" \\
    + "".join(f"{name}:{headers[name]}\\n" for name in signed) \\
    + parts.path + ("?" + query if query else "")
headers["x-ca-signature-headers"] = ",".join(signed)
headers["x-ca-signature"] = base64.b64encode(hmac.new(app_secret.encode(), string_to_sign.encode(), hashlib.sha256).digest()).decode()

try:
    with urllib.request.urlopen(urllib.request.Request(url, data=body, method=method, headers=headers)) as response:
        print(response.status, response.read().decode())
except urllib.error.HTTPError as error:
    print(error.code, error.read().decode())
    # on a 401 BAD_SIGNATURE: the string-to-sign the server computed, newlines shown as #
    if error.headers.get("x-ca-error-message"):
        print(error.headers["x-ca-error-message"], file=sys.stderr)
    sys.exit(1)`
}

function javaSnippet (request: SnippetRequest): string {
  const hasBody = request.body !== undefined
  return `// Java 11+, JDK only: HMAC-SHA256 signature (compatible with Alibaba Cloud API Gateway's
// app signature). Save as Call.java and run \`java Call.java\` with APP_SECRET set to the app's secret.
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class Call {
  public static void main(String[] args) throws Exception {
    String appKey = ${javaLiteral(request.key)};
    String appSecret = System.getenv("APP_SECRET");
    String method = ${javaLiteral(request.method)};
    URI uri = URI.create(${javaLiteral(urlOf(request))});
    String body = ${hasBody ? javaLiteral(request.body as string) : 'null'};

    // lowercase names, kept sorted: the X-Ca-* ones are signed in this order
    TreeMap<String, String> headers = new TreeMap<>();
    headers.put("accept", "application/json");
    if (body != null) {
      headers.put("content-type", ${javaLiteral(JSON_CONTENT_TYPE)});
      headers.put("content-md5", Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(body.getBytes(StandardCharsets.UTF_8))));
    }
    headers.put("x-ca-key", appKey);
    headers.put("x-ca-nonce", UUID.randomUUID().toString());
    headers.put("x-ca-signature-method", "HmacSHA256");
    headers.put("x-ca-timestamp", String.valueOf(System.currentTimeMillis()));

    // the query parameters decoded, the first value of each name, sorted by name ("name=value", a bare name when empty)
    TreeMap<String, String> parameters = new TreeMap<>();
    if (uri.getRawQuery() != null) {
      for (String pair : uri.getRawQuery().split("&")) {
        if (pair.isEmpty()) continue;
        int equals = pair.indexOf('=');
        String name = URLDecoder.decode(equals < 0 ? pair : pair.substring(0, equals), StandardCharsets.UTF_8);
        parameters.putIfAbsent(name, equals < 0 ? "" : URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8));
      }
    }
    StringJoiner query = new StringJoiner("&");
    parameters.forEach((name, value) -> query.add(value.isEmpty() ? name : name + "=" + value));

    StringBuilder stringToSign = new StringBuilder()
        .append(method).append('\\n')
        .append(headers.get("accept")).append('\\n')
        .append(headers.getOrDefault("content-md5", "")).append('\\n')
        .append(headers.getOrDefault("content-type", "")).append('\\n')
        .append('\\n'); // Date, not sent
    List<String> signed = new ArrayList<>();
    headers.forEach((name, value) -> {
      if (name.startsWith("x-ca-")) {
        signed.add(name);
        stringToSign.append(name).append(':').append(value).append('\\n');
      }
    });
    stringToSign.append(uri.getRawPath()).append(parameters.isEmpty() ? "" : "?" + query);
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(appSecret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    headers.put("x-ca-signature-headers", String.join(",", signed));
    headers.put("x-ca-signature", Base64.getEncoder().encodeToString(mac.doFinal(stringToSign.toString().getBytes(StandardCharsets.UTF_8))));

    HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(builder::header);
    // HTTP/1.1: the default would offer an h2c upgrade on plain http
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpResponse<String> response = client.send(builder.build(), HttpResponse.BodyHandlers.ofString());
    System.out.println(response.statusCode() + " " + response.body());
    // on a 401 BAD_SIGNATURE: the string-to-sign the server computed, newlines shown as #
    response.headers().firstValue("x-ca-error-message").ifPresent(System.err::println);
    if (response.statusCode() >= 400) System.exit(1);
  }
}`
}

function goSnippet (request: SnippetRequest): string {
  const hasBody = request.body !== undefined
  return `// Go, standard library only: HMAC-SHA256 signature (compatible with Alibaba Cloud API
// Gateway's app signature). Save as call.go and run \`go run call.go\` with APP_SECRET set to the app's secret.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	appKey := ${literal(request.key)}
	appSecret := os.Getenv("APP_SECRET")
	method := ${literal(request.method)}
	target, err := url.Parse(${literal(urlOf(request))})
	if err != nil {
		panic(err)
	}
	var body []byte${hasBody ? ` = []byte(${literal(request.body as string)})` : ''}

	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	// lowercase names; the X-Ca-* ones are signed
	headers := map[string]string{
		"accept":                "application/json",
		"x-ca-key":              appKey,
		"x-ca-nonce":            hex.EncodeToString(nonce),
		"x-ca-signature-method": "HmacSHA256",
		"x-ca-timestamp":        strconv.FormatInt(time.Now().UnixMilli(), 10),
	}
	if body != nil {
		sum := md5.Sum(body)
		headers["content-type"] = ${literal(JSON_CONTENT_TYPE)}
		headers["content-md5"] = base64.StdEncoding.EncodeToString(sum[:])
	}

	// the query parameters decoded, the first value of each name, sorted by name ("name=value", a bare name when empty)
	parameters := target.Query()
	names := make([]string, 0, len(parameters))
	for name := range parameters {
		names = append(names, name)
	}
	sort.Strings(names)
	pairs := make([]string, 0, len(names))
	for _, name := range names {
		if value := parameters[name][0]; value == "" {
			pairs = append(pairs, name)
		} else {
			pairs = append(pairs, name+"="+value)
		}
	}
	// the X-Ca-* headers are signed, sorted by name, as "name:value\\n"
	signed := []string{}
	for name := range headers {
		if strings.HasPrefix(name, "x-ca-") {
			signed = append(signed, name)
		}
	}
	sort.Strings(signed)
	var stringToSign strings.Builder
	stringToSign.WriteString(method + "\\n" + headers["accept"] + "\\n" + headers["content-md5"] + "\\n" + headers["content-type"] + "\\n" + "\\n")
	for _, name := range signed {
		stringToSign.WriteString(name + ":" + headers[name] + "\\n")
	}
	stringToSign.WriteString(target.EscapedPath())
	if len(pairs) > 0 {
		stringToSign.WriteString("?" + strings.Join(pairs, "&"))
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write([]byte(stringToSign.String()))
	headers["x-ca-signature-headers"] = strings.Join(signed, ",")
	headers["x-ca-signature"] = base64.StdEncoding.EncodeToString(mac.Sum(nil))

	request, err := http.NewRequest(method, target.String(), bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	for name, value := range headers {
		request.Header.Set(name, value)
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		panic(err)
	}
	defer response.Body.Close()
	text, _ := io.ReadAll(response.Body)
	fmt.Println(response.StatusCode, string(text))
	// on a 401 BAD_SIGNATURE: the string-to-sign the server computed, newlines shown as #
	if message := response.Header.Get("X-Ca-Error-Message"); message != "" {
		fmt.Fprintln(os.Stderr, message)
	}
	if response.StatusCode >= 400 {
		os.Exit(1)
	}
}`
}

const GENERATORS: Record<SnippetLanguage, (request: SnippetRequest) => string> = {
  curl: curlSnippet,
  bash: bashSnippet,
  node: nodeSnippet,
  python: pythonSnippet,
  java: javaSnippet,
  go: goSnippet
}

export function snippet (language: SnippetLanguage, request: SnippetRequest): string {
  return GENERATORS[language](request)
}
