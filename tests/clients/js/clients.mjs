// Drives real JavaScript GraphQL clients against a running API; prints one JSON object on stdout.
// node clients.mjs apq|upload|refetch|sse|audit  (URL and KEY from the environment: ACTIVITIES_TEST_URL, ACTIVITIES_TEST_KEY)
import { createHash } from "node:crypto";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";
import { createUploadLink } from "apollo-upload-client";
import { auditServer } from "graphql-http";
import { createClient as createSSEClient } from "graphql-sse";

const url = process.env.ACTIVITIES_TEST_URL;
const headers = { authorization: `Bearer ${process.env.ACTIVITIES_TEST_KEY}` };
const sent = [];

// A fetch that records what each request carried, so the test can check the protocol, not only the result.
async function recordingFetch(input, init = {}) {
  const target = new URL(typeof input === "string" ? input : input.url);
  const body = typeof init.body === "string" ? JSON.parse(init.body) : null;
  sent.push({
    method: init.method || "GET",
    hasQuery: Boolean(body?.query || target.searchParams.get("query")),
    hasHash: Boolean(body?.extensions?.persistedQuery || target.searchParams.get("extensions")),
    multipart: init.body instanceof FormData,
  });
  return fetch(input, init);
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

async function apq() {
  const results = [];
  for (const useGETForHashedQueries of [false, true]) {
    const link = ApolloLink.from([
      createPersistedQueryLink({ sha256, useGETForHashedQueries }),
      new HttpLink({ uri: url, headers, fetch: recordingFetch }),
    ]);
    const client = new ApolloClient({ link, cache: new InMemoryCache() });
    // A fresh document per round: the server must not know its hash yet.
    const query = gql(`query Limits${useGETForHashedQueries ? "Get" : "Post"} { limits { maxPageSize } }`);
    for (let i = 0; i < 2; i++) {
      const { data } = await client.query({ query, fetchPolicy: "no-cache" });
      results.push(data.limits.maxPageSize);
    }
  }
  return { results, sent };
}

async function upload() {
  const client = new ApolloClient({
    link: createUploadLink({ uri: url, headers, fetch: recordingFetch }),
    cache: new InMemoryCache(),
  });
  const rows = '{"activityType": "visitWebpage", "personEmail": "js@example.com", "occurredAt": "2026-01-01T00:00:00Z"}\n';
  const file = new File([rows], "rows.jsonl", { type: "application/x-ndjson" });
  const { data } = await client.mutate({
    mutation: gql`mutation Import($input: ImportActivitiesInput!) {
      importActivities(input: $input) { job { id counts { total } } errors { code field message } } }`,
    variables: { input: { file, createMissingPersons: true } },
  });
  return { payload: data.importActivities, sent };
}

// Relay-style refetch through Apollo's normalised cache: list persons, refetch each by node(id:), and report what
// the cache holds (one entry per person when node's global id is the same `id` the list returned).
async function refetch() {
  const cache = new InMemoryCache({ possibleTypes: { Node: ["Person", "Activity", "ActivityType", "IngestionJob",
    "ApiKey", "ExportJob", "SmartList", "Trigger", "TriggerDelivery"] } });
  const client = new ApolloClient({ link: new HttpLink({ uri: url, headers, fetch: recordingFetch }), cache });
  const { data } = await client.query({
    query: gql`query List { persons(first: 10) { edges { node { id email } } } }`,
  });
  const listed = data.persons.edges.map((edge) => edge.node);
  const refetched = [];
  for (const person of listed) {
    const result = await client.query({
      query: gql`query Refetch($id: ID!) { node(id: $id) { id ... on Person { rowId email firstName } } }`,
      variables: { id: person.id },
      fetchPolicy: "network-only",
    });
    refetched.push(result.data.node);
  }
  const entities = Object.keys(cache.extract()).filter((key) => key.startsWith("Person:"));
  // The list query read again from the cache alone now sees the fields only the refetch brought (firstName).
  const merged = cache.readFragment({
    id: cache.identify(listed[0]), fragment: gql`fragment Merged on Person { email firstName rowId }`,
  });
  return { listed, refetched, entities, merged, sent };
}

// graphql-sse's client in both of its modes at once: each subscribes to activityRecorded (the test records an activity
// once both listen) and, in single connection mode, also runs a query over the same stream.
async function sse() {
  const subscription = 'subscription { activityRecorded(filter: {activityTypes: ["depositCheck"]}) { primaryValue } }';
  const first = (client, query) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no result for ${query}`)), 60_000);
    const stop = client.subscribe({ query }, {
      next: (value) => { clearTimeout(timer); stop(); resolve(value); },
      error: (error) => { clearTimeout(timer); reject(error); },
      complete: () => {},
    });
  });
  const calls = [];
  const fetchFn = async (input, init = {}) => {
    const res = await fetch(input, init);
    calls.push(`${init.method} ${res.status}`);
    if (res.status >= 400) console.error(init.method, input, res.status, await res.clone().text());
    return res;
  };
  // Each client its own headers object: single connection mode adds its stream token to the object it is given.
  const single = createSSEClient({ url, headers: { ...headers }, singleConnection: true, retryAttempts: 0, fetchFn });
  const distinct = createSSEClient({ url, headers: { ...headers }, singleConnection: false, retryAttempts: 0, fetchFn });
  try {
    const version = await first(single, "{ version }");
    const [viaSingle, viaDistinct] = await Promise.all([first(single, subscription), first(distinct, subscription)]);
    return { version, viaSingle, viaDistinct, calls };
  } finally {
    single.dispose();
    distinct.dispose();
  }
}

// The graphql-http audit (GraphQL over HTTP spec): every result with its level (MUST/SHOULD/MAY) and status.
async function audit() {
  const fetchFn = (input, init = {}) => {
    const sending = new Headers(init.headers);
    sending.set("authorization", headers.authorization);
    return fetch(input, { ...init, headers: sending });
  };
  const results = await auditServer({ url, fetchFn });
  return {
    results: results.map((r) => ({ name: r.name, level: r.name.split(" ")[0], status: r.status, reason: r.reason })),
  };
}

const commands = { apq, upload, refetch, sse, audit };
const run = commands[process.argv[2]];
if (!run) {
  console.error(`usage: node clients.mjs ${Object.keys(commands).join("|")}`);
  process.exit(2);
}
run().then(
  (result) => process.stdout.write(JSON.stringify(result) + "\n"),
  (error) => { console.error(error); process.exit(1); },
);
