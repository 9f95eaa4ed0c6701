/**
 * What the dashboard shows for an endpoint beyond the registry's description: the JSON
 * Schema of its contract (when the gateway was given it) and its kind (unary or a stream),
 * so an endpoint typed in code still shows what to send.
 */
import type { Endpoint, Service } from "tsmicro/plugin";
import { jsonSchemaOf, type ServiceApi } from "../openapi.js";

export interface DashboardEndpoint extends Endpoint {
  /** `unary`, `server`, `client` or `bidi`. */
  kind: string;
  /** From the contract given to the gateway, when its schemas publish JSON Schema. */
  schema?: { request?: unknown; response?: unknown };
}

export function enrichServices(services: Service[], apis: readonly ServiceApi[]): Service[] {
  return services.map((s) => {
    const specs = new Map<string, { request?: unknown; response?: unknown }>();
    for (const a of apis) {
      if (a.service !== s.name) continue;
      for (const [key, spec] of Object.entries(a.contract.endpoints)) {
        const request = jsonSchemaOf(spec.request, "input");
        const response = jsonSchemaOf(spec.response, "output");
        specs.set(`${a.contract.name}.${spec.name ?? key}`, {
          ...(request === undefined ? {} : { request }),
          ...(response === undefined ? {} : { response }),
        });
      }
    }
    return {
      ...s,
      endpoints: s.endpoints.map((e): DashboardEndpoint => {
        const schema = specs.get(e.name);
        return {
          ...e,
          kind: e.metadata?.stream ?? "unary",
          ...(schema === undefined || Object.keys(schema).length === 0 ? {} : { schema }),
        };
      }),
    };
  });
}
