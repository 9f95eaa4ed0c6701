/**
 * `GET /health/{service}`: every node's `Debug.Health`, for probes and load balancers that
 * speak HTTP only. 200 when every node answers ok, 503 when one does not, 404 with no node.
 */
import type { ServerResponse } from "node:http";
import type { Client, Registry } from "tsmicro";
import { sendError, sendJson } from "./http-error.js";
import { callEveryNode } from "./nodes.js";

/** Bound on each node's answer. */
const NODE_TIMEOUT_MS = 2000;

/**
 * `detailed`: each node's id, address and answer. Without it (an untrusted caller of a gateway
 * that redacts) only the counts: addresses and error details are topology.
 */
export async function serviceHealth(
  client: Client,
  registry: Registry,
  service: string,
  res: ServerResponse,
  detailed = true,
): Promise<void> {
  try {
    const nodes = await callEveryNode<{ status?: string }>(client, registry, service, "Debug.Health", {
      timeoutMs: NODE_TIMEOUT_MS,
    });
    const healthy = nodes.every((n) => n.result?.status === "ok");
    const ok = nodes.filter((n) => n.result?.status === "ok").length;
    sendJson(
      res,
      healthy ? 200 : 503,
      detailed ? { service, healthy, nodes } : { service, healthy, nodes: nodes.length, ok },
    );
  } catch (err) {
    sendError(res, err, {}, { redact: !detailed });
  }
}
