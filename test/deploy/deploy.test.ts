/**
 * deploy/: the Kubernetes manifests parse, and what they set is what the code reads and serves
 * (env names, ports, probe paths, the grace period against the drain), the Dockerfile has the
 * shape DEPLOYMENT.md promises, and the example service they run really starts from the
 * manifest's environment (mapped to loopback and the shared NATS), answers its probes,
 * registers the advertised host, and deregisters on SIGTERM. No image is built here.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { LIVENESS_PATH, READINESS_PATH } from "@tsmicro/health";
import { createNatsRegistry, DEFAULT_NATS_REGISTRY_TIMEOUT_MS } from "@tsmicro/nats";
import {
  BROKER_PACKAGES,
  DEFAULT_DRAIN_TIMEOUT_MS,
  ENV_BROKER_ADVERTISE,
  ENV_SERVER_ADDRESS,
  ENV_SERVER_ADVERTISE,
  REGISTRY_PACKAGES,
} from "tsmicro/plugin";
import { parseAllDocuments } from "yaml";

const root = new URL("../..", import.meta.url).pathname;
const k8s = join(root, "deploy", "kubernetes");
const example = join(root, "deploy", "example", "service.mjs");

function docsOf(file: string): any[] {
  const docs = parseAllDocuments(readFileSync(join(k8s, file), "utf8"));
  for (const d of docs) assert.deepEqual(d.errors, [], `${file} parses`);
  return docs.map((d) => d.toJS());
}
const all = readdirSync(k8s)
  .filter((f) => f.endsWith(".yaml"))
  .flatMap((f) => docsOf(f).map((doc) => ({ file: f, doc })));
const find = (kind: string, name: string) => {
  const hit = all.find((d) => d.doc?.kind === kind && d.doc?.metadata?.name === name);
  assert.ok(hit, `deploy/kubernetes has a ${kind} named ${name}`);
  return hit.doc;
};
const deployment = find("Deployment", "greeter");
const container = deployment.spec.template.spec.containers[0];
const env = new Map<string, any>(container.env.map((e: any) => [e.name, e]));
const value = (name: string): string => {
  const v = env.get(name)?.value;
  assert.equal(typeof v, "string", `${name} has a value in the Deployment`);
  return v;
};
const portOf = (hostPort: string) => Number(hostPort.slice(hostPort.lastIndexOf(":") + 1));
const containerPort = (name: string) => {
  const p = container.ports.find((x: any) => x.name === name);
  assert.ok(p, `the container declares a port named ${name}`);
  return p.containerPort as number;
};

/** Every environment variable some source file of the packages or the example reads. */
function namesTheCodeReads(): Set<string> {
  const names = new Set<string>([ENV_SERVER_ADDRESS, ENV_SERVER_ADVERTISE, ENV_BROKER_ADVERTISE]);
  const scan = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== "node_modules" && e.name !== "dist" && e.name !== "test") scan(p);
      } else if (/\.(ts|mjs)$/.test(e.name) && !e.name.endsWith(".test.ts")) {
        for (const m of readFileSync(p, "utf8").matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g))
          names.add(m[1]!);
      }
    }
  };
  for (const pkg of readdirSync(join(root, "packages"))) {
    const src = join(root, "packages", pkg, "src");
    if (existsSync(src)) scan(src);
  }
  scan(join(root, "deploy", "example"));
  return names;
}

describe("deploy/kubernetes", () => {
  it("every manifest parses into Kubernetes objects, and kustomization lists them all", () => {
    assert.ok(all.length >= 4, `found ${all.length} objects`);
    for (const { file, doc } of all) {
      assert.ok(doc.apiVersion && doc.kind, `${file}: apiVersion and kind`);
      if (doc.kind !== "Kustomization") assert.ok(doc.metadata?.name, `${file}: ${doc.kind} has a name`);
    }
    const kustomization = all.find((d) => d.doc.kind === "Kustomization")!.doc;
    const files = readdirSync(k8s).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    assert.deepEqual([...kustomization.resources].sort(), files.sort());
  });

  it("the Deployment sets only env variables the code reads", () => {
    const read = namesTheCodeReads();
    for (const name of env.keys()) assert.ok(read.has(name), `${name} is read by the code`);
    // The negative control: the scan would catch a name no code reads.
    assert.ok(!read.has("MICRO_SERVER_ADVERTISED"), "a misspelt name is not among them");
  });

  it("the pod IP reaches MICRO_SERVER_ADVERTISE through the downward API; the listener binds every interface", () => {
    assert.equal(env.get(ENV_SERVER_ADVERTISE)?.valueFrom?.fieldRef?.fieldPath, "status.podIP");
    assert.match(value(ENV_SERVER_ADDRESS), /^0\.0\.0\.0:\d+$/);
    assert.equal(portOf(value(ENV_SERVER_ADDRESS)), containerPort("rpc"));
  });

  it("NATS is the registry and the broker, at the address of the NATS Service", () => {
    assert.equal(value("MICRO_REGISTRY"), "nats");
    assert.equal(value("MICRO_BROKER"), "nats");
    assert.equal(REGISTRY_PACKAGES.nats, "@tsmicro/nats");
    assert.equal(BROKER_PACKAGES.nats, "@tsmicro/nats");
    const svc = find("Service", "nats");
    const client = svc.spec.ports.find((p: any) => p.name === "client");
    for (const name of ["MICRO_REGISTRY_ADDRESS", "MICRO_BROKER_ADDRESS"]) {
      assert.equal(value(name), `nats://${svc.metadata.name}:${client.port}`, name);
    }
    const nats = find("StatefulSet", "nats").spec.template.spec.containers[0];
    assert.ok(nats.args.includes("-js"), "JetStream is on (the registry is a KV bucket)");
  });

  it("the probes hit the paths @tsmicro/health serves, on the port the example serves them", () => {
    assert.equal(container.livenessProbe.httpGet.path, LIVENESS_PATH);
    assert.equal(container.readinessProbe.httpGet.path, READINESS_PATH);
    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
      assert.equal(container[probe].httpGet.port, "health", `${probe} uses the health port`);
    }
    assert.equal(portOf(value("HEALTH_ADDRESS")), containerPort("health"));
  });

  it("the grace period covers deregistration and the drain", () => {
    const drainMs = Number(env.get("DRAIN_TIMEOUT_MS")?.value ?? DEFAULT_DRAIN_TIMEOUT_MS);
    const graceMs = deployment.spec.template.spec.terminationGracePeriodSeconds * 1000;
    assert.ok(
      graceMs >= DEFAULT_NATS_REGISTRY_TIMEOUT_MS + drainMs + 2000,
      `terminationGracePeriodSeconds (${graceMs} ms) ≥ deregister (${DEFAULT_NATS_REGISTRY_TIMEOUT_MS} ms) + drain (${drainMs} ms) + 2 s`,
    );
    assert.equal(deployment.spec.template.spec.securityContext.runAsNonRoot, true);
  });
});

describe("deploy/Dockerfile", () => {
  const text = readFileSync(join(root, "deploy", "Dockerfile"), "utf8");
  const lines = text.split("\n").filter((l) => !l.trim().startsWith("#"));
  it("is multi-stage, installs production dependencies with npm ci, runs as a non-root user", () => {
    assert.ok(lines.filter((l) => /^FROM /.test(l)).length >= 2, "two or more stages");
    assert.ok(lines.some((l) => /npm ci --omit=dev/.test(l)));
    const user = lines.filter((l) => /^USER /.test(l)).at(-1);
    assert.ok(user !== undefined && !/root|^USER 0/.test(user), `runs as ${user}`);
  });

  it("exposes the ports the manifest declares, and its HEALTHCHECK asks @tsmicro/health's liveness path", () => {
    const exposed = lines
      .filter((l) => /^EXPOSE /.test(l))
      .flatMap((l) => l.replace("EXPOSE", "").trim().split(/\s+/).map(Number));
    assert.deepEqual(exposed.sort(), [containerPort("rpc"), containerPort("health")].sort());
    const check = text.slice(text.indexOf("HEALTHCHECK"));
    assert.ok(
      check.includes(`:${containerPort("health")}${LIVENESS_PATH}`),
      "HEALTHCHECK hits the liveness path",
    );
    assert.ok(text.includes(`MICRO_SERVER_ADDRESS=${value(ENV_SERVER_ADDRESS)}`));
    assert.ok(text.includes(`HEALTH_ADDRESS=${value("HEALTH_ADDRESS")}`));
    assert.ok(/CMD \["node", "service\.mjs"\]/.test(text) && existsSync(example), "CMD runs the example");
  });
});

describe("deploy/example from the manifest's environment", () => {
  let child: ChildProcess | undefined;
  after(() => child?.kill("SIGKILL"));

  it("serves its probes, registers the advertised host, deregisters on SIGTERM", async () => {
    const nats = process.env.TSMICRO_TEST_NATS || "127.0.0.1:4222";
    const name = `deploy-${randomUUID().slice(0, 8)}`;
    // The manifest's env, mapped to this machine: loopback instead of 0.0.0.0 and the pod IP,
    // the shared NATS instead of the in-cluster Service.
    const mapped: Record<string, string> = {};
    for (const [k, e] of env) if (typeof e.value === "string") mapped[k] = e.value;
    Object.assign(mapped, {
      [ENV_SERVER_ADDRESS]: "127.0.0.1:0",
      [ENV_SERVER_ADVERTISE]: "127.0.0.1",
      HEALTH_ADDRESS: "127.0.0.1:0",
      MICRO_REGISTRY_ADDRESS: `nats://${nats}`,
      MICRO_BROKER_ADDRESS: `nats://${nats}`,
      DRAIN_TIMEOUT_MS: "2000",
      SERVICE_NAME: name,
    });
    child = spawn(process.execPath, [example], {
      cwd: root,
      env: { ...process.env, ...mapped },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const logs: any[] = [];
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      for (const line of chunk.split("\n").filter(Boolean)) logs.push(JSON.parse(line));
    });
    const waitFor = async (what: string, ms: number, check: () => boolean | Promise<boolean>) => {
      const end = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor("the example to log 'started'", 20_000, () => logs.some((l) => l.msg === "started"));
    const started = logs.find((l) => l.msg === "started");
    assert.match(started.advertised, /^127\.0\.0\.1:\d+$/);
    assert.equal(
      portOf(started.advertised),
      portOf(started.address),
      "a bare advertised host takes the bound port",
    );

    const live = await fetch(`http://${started.health}${LIVENESS_PATH}`);
    assert.equal(live.status, 200);
    let ready: Response | undefined;
    await waitFor("readiness", 10_000, async () => {
      ready = await fetch(`http://${started.health}${READINESS_PATH}`);
      return ready.status === 200;
    });
    assert.equal(((await ready!.json()) as { status: string }).status, "ready");

    const registry = createNatsRegistry({ servers: [nats] });
    try {
      const [svc] = await registry.getService(name);
      assert.equal(svc?.nodes[0]?.address, started.advertised, "the registry holds the advertised address");
      const exited = new Promise<number | null>((r) => child!.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("hung"), 10_000))]);
      assert.equal(code, 0, "exits cleanly on SIGTERM within 10 s");
      assert.deepEqual(
        logs.map((l) => l.msg).filter((m) => m === "stopping" || m === "stopped"),
        ["stopping", "stopped"],
      );
      assert.deepEqual(await registry.getService(name), [], "deregistered");
    } finally {
      await registry.close();
    }
  });
});
