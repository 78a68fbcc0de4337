// Unbounded in-memory storage adapter for oidc-provider. The library's built-in store is an LRU
// of about a thousand entries, so in long test runs early tokens would silently read as inactive.
// Entries live until they expire (dropped on read and by a periodic sweep) or are destroyed.

const records = new Map(); // key -> { payload, expiresAt }
const grantMembers = new Map(); // grantId -> Set of keys
const sessionUids = new Map(); // uid -> key
const userCodes = new Map(); // userCode -> key

function live(key) {
  const record = key === undefined ? undefined : records.get(key);
  if (!record) return undefined;
  if (record.expiresAt <= Date.now()) {
    records.delete(key);
    return undefined;
  }
  return record.payload;
}

export class MapAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    records.set(key, { payload, expiresAt });
    if (payload.grantId) {
      const members = grantMembers.get(payload.grantId) ?? new Set();
      members.add(key);
      grantMembers.set(payload.grantId, members);
    }
    if (this.model === 'Session' && payload.uid) sessionUids.set(payload.uid, key);
    if (payload.userCode) userCodes.set(payload.userCode, key);
  }

  async find(id) {
    return live(this.key(id));
  }

  async findByUid(uid) {
    return live(sessionUids.get(uid));
  }

  async findByUserCode(userCode) {
    return live(userCodes.get(userCode));
  }

  async consume(id) {
    const record = records.get(this.key(id));
    if (record) record.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    records.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of grantMembers.get(grantId) ?? []) records.delete(key);
    grantMembers.delete(grantId);
  }
}

// Expired entries are dropped on read; sweep the rest and stale index entries now and then so
// long runs stay small.
setInterval(() => {
  const now = Date.now();
  for (const [key, record] of records) if (record.expiresAt <= now) records.delete(key);
  for (const index of [sessionUids, userCodes]) {
    for (const [name, key] of index) if (!records.has(key)) index.delete(name);
  }
  for (const [grantId, members] of grantMembers) {
    for (const key of members) if (!records.has(key)) members.delete(key);
    if (members.size === 0) grantMembers.delete(grantId);
  }
}, 60_000).unref();
