// masto.js (the library Elk and Phanpy use) making the REST calls those apps make on their
// first screens, driven by test_masto_apps.py. Usage: node apps.mjs URL TOKEN SEARCH
// Prints one JSON object with what came back; exits 1 on an error (printed as {"error"}).
import { createRestAPIClient } from "masto";

const [url, accessToken, search] = process.argv.slice(2);
const masto = createRestAPIClient({ url, accessToken });
const out = {};

try {
  const instance = await masto.v2.instance.fetch();
  out.version = instance.version;
  out.apiVersions = instance.apiVersions;
  out.markersBefore = await masto.v1.markers.fetch({ timeline: ["home", "notifications"] });
  const grouped = await masto.v2.notifications.list({ limit: 20 });
  out.groups = grouped.notificationGroups.map((g) => ({
    type: g.type,
    count: g.notificationsCount,
    key: g.groupKey,
    samples: g.sampleAccountIds.length,
    mostRecent: g.mostRecentNotificationId,
  }));
  out.accounts = grouped.accounts.map((a) => a.acct).sort();
  out.unreadBefore = (await masto.v2.notifications.unreadCount.fetch()).count;
  const waiting = await masto.v1.followRequests.list();
  out.requests = waiting.map((a) => a.acct);
  const rel = await masto.v1.followRequests.$select(waiting[0].id).authorize();
  out.authorized = { followedBy: rel.followedBy, requestedBy: rel.requestedBy };
  out.search = (await masto.v1.accounts.search.list({ q: search })).map((a) => a.acct);
  out.policy = (await masto.v2.notifications.policy.fetch()).forNotFollowing;
  out.notificationRequests = (await masto.v1.notifications.requests.list()).length;
  const newest = out.groups[0].mostRecent;
  const saved = await masto.v1.markers.create({ notifications: { lastReadId: newest } });
  out.marker = { lastReadId: saved.notifications.lastReadId, version: saved.notifications.version };
  out.unreadAfter = (await masto.v2.notifications.unreadCount.fetch()).count;
  const one = await masto.v2.notifications.$select(out.groups[0].key).fetch();
  out.oneGroup = one.notificationGroups[0].notificationsCount;
  process.stdout.write(JSON.stringify(out) + "\n");
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error), partial: out }) + "\n");
  process.exit(1);
}
