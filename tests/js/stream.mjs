// masto.js (the library Elk and Phanpy use) as a streaming client, driven by test_masto.py.
// Usage: node stream.mjs STREAMING_URL TOKEN TAG
// Subscribes to `user` and `hashtag` (TAG) over one WebSocket, with the token sent as
// masto.js sends it (Sec-WebSocket-Protocol), and prints one JSON line per update; exits 0
// once one status has arrived on both streams, 2 on timeout, 1 on an error.
import { createStreamingAPIClient } from "masto";

const [url, token, tag] = process.argv.slice(2);
const masto = createStreamingAPIClient({ streamingApiUrl: url, accessToken: token, retry: false });
const seen = { user: new Set(), hashtag: new Set() };

function report(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

async function watch(name, subscription) {
  for await (const event of subscription) {
    if (event.event !== "update") continue;
    seen[name].add(event.payload.id);
    report({ stream: event.stream, id: event.payload.id, acct: event.payload.account.acct });
    for (const id of seen.user) {
      if (seen.hashtag.has(id)) {
        report({ done: id });
        process.exit(0);
      }
    }
  }
}

setTimeout(() => {
  report({ timeout: true });
  process.exit(2);
}, 60000);
report({ started: true });
Promise.all([
  watch("user", masto.user.subscribe()),
  watch("hashtag", masto.hashtag.subscribe({ tag })),
]).catch((error) => {
  report({ error: String(error) });
  process.exit(1);
});
