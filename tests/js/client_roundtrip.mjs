#!/usr/bin/env node
// How a JavaScript course package talks to cpdfolio, with the @xapi/xapi library (xAPI.js).
//
//   node tests/js/client_roundtrip.mjs --endpoint http://127.0.0.1:8000/xapi/ \
//       --key KEY --secret SECRET [--version 1.0.3|2.0.0]
//
// (or XAPI_ENDPOINT, XAPI_KEY, XAPI_SECRET, XAPI_VERSION in the environment). The
// credentials come from `cpdfolio clients create --scope statements/write
// --scope statements/read --scope state --json`.
//
// It does what a course does in a session: records that a manager completed the course
// (with a result and a context), sends several statements in one request, reads one back
// by id, queries the manager's statements page by page, and keeps its suspend data in the
// State resource with ETags, as a compare-and-set. It prints one JSON summary of what the
// LRS answered on stdout, for tests/e2e/test_js_client.py to check, and exits 1 with a
// message naming the step, the request and the LRS's answer on any failure.

import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";

import XAPI from "@xapi/xapi";

const options = parseOptions();
for (const name of ["endpoint", "key", "secret"]) {
  if (!options[name]) {
    fail(`missing --${name} (or XAPI_${name.toUpperCase()})`);
  }
}

// @xapi/xapi sends `version` as X-Experience-API-Version on every request. Its types list
// 1.0.0 to 1.0.3 only; "2.0.0" is passed through as it is, which is all a 2.0.0 client
// needs for what this script does. Leave the library's `useCacheBuster` option off: it adds
// a `cachebuster` query parameter, and an LRS must refuse parameters it does not know with
// a 400 (Communication 3.2), as cpdfolio does.
const lrs = new XAPI({
  endpoint: options.endpoint,
  auth: XAPI.toBasicAuth(options.key, options.secret),
  version: options.version,
});

const COURSE = "https://learning.example.gov.uk/course/safeguarding-adults";
const PROGRAMME = "https://learning.example.gov.uk/programme/new-managers";
const registration = randomUUID();
const manager = {
  objectType: "Agent",
  name: "Siân Jones",
  mbox: "mailto:sian.jones@council.example.gov.uk",
};
const colleague = {
  objectType: "Agent",
  name: "Bob Patel",
  mbox: "mailto:bob.patel@council.example.gov.uk",
};

function activity(id, name, type) {
  return {
    objectType: "Activity",
    id,
    definition: { name: { "en-GB": name }, type },
  };
}

function context(parent) {
  return {
    registration,
    platform: "Council LMS (xAPI.js)",
    language: "en-GB",
    contextActivities: {
      parent: [activity(parent, "New managers", "http://adlnet.gov/expapi/activities/course")],
      category: [{ id: "https://w3id.org/xapi/cmi5/context/categories/moveon" }],
    },
  };
}

const completedCourse = {
  actor: manager,
  verb: XAPI.Verbs.COMPLETED,
  object: activity(COURSE, "Safeguarding adults", "http://adlnet.gov/expapi/activities/course"),
  result: {
    score: { scaled: 0.92, raw: 46, min: 0, max: 50 },
    success: true,
    completion: true,
    duration: "PT1H24M",
  },
  context: context(PROGRAMME),
  timestamp: new Date().toISOString(),
};

// A batch as content sends it when it flushes a queue: ids made by the client, in order.
const batch = [1, 2, 3]
  .map((n) => ({
    id: randomUUID(),
    actor: manager,
    verb: XAPI.Verbs.PASSED,
    object: activity(
      `${COURSE}/module-${n}`,
      `Module ${n}`,
      "http://adlnet.gov/expapi/activities/module",
    ),
    result: { score: { scaled: 0.7 + n / 10 }, success: true, completion: true },
    context: context(COURSE),
  }))
  .concat([
    {
      id: randomUUID(),
      actor: colleague,
      verb: { id: "http://adlnet.gov/expapi/verbs/attempted", display: { "en-GB": "attempted" } },
      object: activity(
        `${COURSE}/module-1`,
        "Module 1",
        "http://adlnet.gov/expapi/activities/module",
      ),
    },
  ]);

const summary = { version: options.version, library: "@xapi/xapi" };

try {
  summary.about = (await step("GET about", () => lrs.getAbout())).data;

  const sent = await step("POST one statement", () =>
    lrs.sendStatement({ statement: completedCourse }),
  );
  summary.statement = { sent: completedCourse, id: sent.data[0] };

  const sentBatch = await step("POST several statements", () =>
    lrs.sendStatements({ statements: batch }),
  );
  summary.batch = { sent: batch, ids: sentBatch.data };

  const fetched = await step("GET statement by id", () =>
    lrs.getStatement({ statementId: summary.statement.id }),
  );
  summary.fetched = {
    status: fetched.status,
    consistentThrough: fetched.headers["x-experience-api-consistent-through"] ?? null,
    statement: fetched.data,
  };

  summary.query = await queryAllPages(manager, 2);
  summary.state = await stateRoundTrip();
} catch (error) {
  fail(error.message);
}

process.stdout.write(JSON.stringify(summary, null, 2) + "\n");

// Follows `more` until it is empty, as a dashboard listing a learner's records would.
async function queryAllPages(agent, limit) {
  const pages = [];
  let page = await step("GET statements?agent", () => lrs.getStatements({ agent, limit }));
  pages.push(page.data);
  while (page.data.more) {
    const more = page.data.more;
    page = await step(`GET more (${more})`, () => lrs.getMoreStatements({ more }));
    pages.push(page.data);
  }
  return {
    agent: agent.mbox,
    limit,
    pageSizes: pages.map((p) => p.statements.length),
    more: pages.map((p) => p.more),
    ids: pages.flatMap((p) => p.statements.map((s) => s.id)),
  };
}

// Suspend data kept the way a course does: create only if absent, then every update and
// the delete carry the ETag last read (If-Match), so a second window of the same course
// cannot silently overwrite it. `progress` is left in place for the test to read back
// through the HTTP API; `bookmark` is deleted.
async function stateRoundTrip() {
  const where = { agent: manager, activityId: COURSE, registration };
  const progress = { ...where, stateId: "progress" };
  const bookmark = { ...where, stateId: "bookmark" };
  const result = { activityId: COURSE, agent: manager.mbox, registration };

  const first = { page: 3, answers: { q1: "b", q2: "d" }, suspended: true };
  const created = await step("PUT state (If-None-Match: *)", () =>
    lrs.setState({ ...progress, state: first, etag: "*", matchHeader: "If-None-Match" }),
  );
  result.created = { status: created.status, etag: created.headers.etag ?? null };

  // A second window of the same course finds the state already there (412) and reads it.
  result.createAgain = await expectStatus("PUT state (If-None-Match: *) again", 412, () =>
    lrs.setState({ ...progress, state: {}, etag: "*", matchHeader: "If-None-Match" }),
  );

  const read = await step("GET state", () => lrs.getState(progress));
  result.read = {
    content: read.data,
    contentType: read.headers["content-type"],
    etag: read.headers.etag ?? null,
  };

  const second = { page: 7, answers: { q1: "b", q2: "d", q3: "a" }, suspended: true };
  const updated = await step("PUT state (If-Match)", () =>
    lrs.setState({ ...progress, state: second, etag: read.headers.etag, matchHeader: "If-Match" }),
  );
  result.updated = { status: updated.status, etag: updated.headers.etag ?? null };

  // POST merges a JSON object's top-level properties into the stored one (Communication 2.2).
  const reread = await step("GET state after PUT", () => lrs.getState(progress));
  const merged = await step("POST state (If-Match)", () =>
    lrs.createState({
      ...progress,
      state: { suspended: false, completedAt: new Date().toISOString() },
      etag: reread.headers.etag,
      matchHeader: "If-Match",
    }),
  );
  result.merged = { status: merged.status, etag: merged.headers.etag ?? null };

  const final = await step("GET state after POST", () => lrs.getState(progress));
  result.final = { content: final.data, etag: final.headers.etag ?? null };

  // A stale ETag must be refused (412), and must change nothing.
  result.staleWrite = await expectStatus("PUT state with a stale ETag", 412, () =>
    lrs.setState({ ...progress, state: first, etag: read.headers.etag, matchHeader: "If-Match" }),
  );

  await step("PUT bookmark", () =>
    lrs.setState({
      ...bookmark,
      state: { location: "slide-12" },
      etag: "*",
      matchHeader: "If-None-Match",
    }),
  );
  result.idsBeforeDelete = (await step("GET state ids", () => lrs.getStates(where))).data;

  const mark = await step("GET bookmark", () => lrs.getState(bookmark));
  const deleted = await step("DELETE bookmark (If-Match)", () =>
    lrs.deleteState({ ...bookmark, etag: mark.headers.etag }),
  );
  result.deleted = { status: deleted.status };
  result.idsAfterDelete = (
    await step("GET state ids after DELETE", () => lrs.getStates(where))
  ).data;
  result.deletedRead = await expectStatus("GET deleted bookmark", 404, () =>
    lrs.getState(bookmark),
  );
  return result;
}

// Runs one request; on failure, throws an error naming the step, the request and the answer.
async function step(name, request) {
  try {
    return await request();
  } catch (error) {
    throw new Error(`${name}: ${describe(error)}`);
  }
}

// Runs a request that the LRS must refuse with `status`; returns that status.
async function expectStatus(name, status, request) {
  let response;
  try {
    response = await request();
  } catch (error) {
    if (error.response?.status === status) {
      return status;
    }
    throw new Error(`${name}: expected ${status}, ${describe(error)}`);
  }
  throw new Error(`${name}: expected ${status}, the LRS answered ${response.status}`);
}

// What was sent and what came back, for a failure message.
function describe(error) {
  const { config, response } = error;
  if (response === undefined) {
    return `no answer from the LRS (${error.code ?? error.name}: ${error.message})`;
  }
  const header = (name) => config?.headers?.get?.(name) ?? "-";
  const sent = config
    ? ` to ${config.method?.toUpperCase()} ${config.url} (X-Experience-API-Version: ` +
      `${header("X-Experience-API-Version")}, If-Match: ${header("If-Match")}, ` +
      `If-None-Match: ${header("If-None-Match")})`
    : "";
  const body =
    typeof response.data === "string" ? response.data : JSON.stringify(response.data ?? "");
  return `the LRS answered ${response.status}${sent}: ${body.slice(0, 500)}`;
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        endpoint: { type: "string" },
        key: { type: "string" },
        secret: { type: "string" },
        version: { type: "string" },
      },
    }));
  } catch (error) {
    fail(error.message);
  }
  return {
    endpoint: values.endpoint ?? process.env.XAPI_ENDPOINT,
    key: values.key ?? process.env.XAPI_KEY,
    secret: values.secret ?? process.env.XAPI_SECRET,
    version: values.version ?? process.env.XAPI_VERSION ?? "1.0.3",
  };
}

function fail(message) {
  process.stderr.write(`client_roundtrip.mjs: ${message}\n`);
  process.exit(1);
}
