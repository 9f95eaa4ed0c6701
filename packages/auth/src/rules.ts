/**
 * Rules, after go-micro's auth rules: a resource (service + endpoint, `*` wildcards), a scope,
 * allow or deny, and a priority. The highest-priority rule that matches the resource and
 * applies to the caller decides; when none does, the call is denied.
 */
import type { Account } from "./account.js";

export type Access = "allow" | "deny";

export interface Rule {
  /** Named in logs and in 403 details. */
  id: string;
  /** Service and endpoint patterns; `*` matches any run of characters (`"Greeter.*"`, `"*"`). */
  resource: { service: string; endpoint: string };
  /**
   * Who the rule applies to: `""` everyone, even callers without a token (public);
   * `"*"` any caller with a valid token; otherwise callers whose account holds this scope.
   */
  scope: string;
  access: Access;
  /** Higher runs first; on a tie, deny runs before allow. @default 0 */
  priority?: number;
}

/** Applies to everyone, even callers without a token. */
export const SCOPE_PUBLIC = "";
/** Applies to any caller with a valid token. */
export const SCOPE_ACCOUNT = "*";

export type Verdict = { access: "allow"; rule: Rule } | { access: "deny"; rule: Rule | undefined };

export type RuleChecker = (
  account: Account | undefined,
  resource: { service: string; endpoint: string },
) => Verdict;

/** Compiles `rules` once (patterns to regular expressions, order by priority) into a checker. */
export function compileRules(rules: readonly Rule[]): RuleChecker {
  const compiled = rules
    .map((rule, index) => {
      if (rule.access !== "allow" && rule.access !== "deny") {
        throw new TypeError(
          `auth rule "${rule.id}": access must be "allow" or "deny", got "${String(rule.access)}"`,
        );
      }
      return {
        rule,
        index,
        priority: rule.priority ?? 0,
        service: glob(rule.resource.service),
        endpoint: glob(rule.resource.endpoint),
      };
    })
    .sort((a, b) => b.priority - a.priority || rank(a.rule) - rank(b.rule) || a.index - b.index);
  return (account, resource) => {
    for (const c of compiled) {
      if (!c.service.test(resource.service) || !c.endpoint.test(resource.endpoint)) continue;
      if (!appliesTo(c.rule.scope, account)) continue;
      return c.rule.access === "allow" ? { access: "allow", rule: c.rule } : { access: "deny", rule: c.rule };
    }
    return { access: "deny", rule: undefined };
  };
}

function appliesTo(scope: string, account: Account | undefined): boolean {
  if (scope === SCOPE_PUBLIC) return true;
  if (account === undefined) return false;
  return scope === SCOPE_ACCOUNT || account.scopes.includes(scope);
}

function rank(rule: Rule): number {
  return rule.access === "deny" ? 0 : 1;
}

function glob(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`, "s");
}
