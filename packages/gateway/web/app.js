// The tsmicro dashboard: one Server-Sent Events stream (read with fetch) for live data, fetch for calls, uPlot for charts.
// Plain DOM, no framework: the page is small and every update replaces text, not markup.
(() => {
  const $ = (id) => document.getElementById(id);
  const state = { services: [], selected: undefined, charts: new Map() };

  /** Builds an element; children are nodes or text (text is never parsed as HTML). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) {
      if (k === "onclick") el.addEventListener("click", v);
      else if (v !== undefined) el.setAttribute(k, v);
    }
    for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }

  const shape = (v) => JSON.stringify(v);

  // A JSON Schema as a compact shape: {"type":"object","properties":{"id":{"type":"string"}}} → {"id":"string"}.
  function fromSchema(s) {
    if (!s || typeof s !== "object") return undefined;
    if (s.type === "object" && s.properties)
      return Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, fromSchema(v) ?? "any"]));
    if (s.type === "array") return [fromSchema(s.items) ?? "any"];
    if (typeof s.type === "string") return s.type;
    if (Array.isArray(s.anyOf)) return s.anyOf.map((x) => fromSchema(x) ?? "any").join(" | ");
    return undefined;
  }
  const requestShape = (e) => e.request ?? fromSchema(e.schema?.request);
  const responseShape = (e) => e.response ?? fromSchema(e.schema?.response);
  const KINDS = { server: "server stream", client: "client stream", bidi: "bidi stream" };

  /** What to show for an endpoint: its shapes when published, else what is known (kind, any JSON). */
  function describeEndpoint(e) {
    const req = requestShape(e);
    const rsp = responseShape(e);
    const kind = KINDS[e.kind] ? `${KINDS[e.kind]}: ` : "";
    if (req === undefined && rsp === undefined) return `${kind}any JSON → any JSON (no schema published)`;
    return `${kind}${req === undefined ? "any JSON" : shape(req)} → ${rsp === undefined ? "any JSON" : shape(rsp)}`;
  }
  const ms = (v) => (v === null || v === undefined ? "—" : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);

  // A request skeleton from a described shape: {"name":"string"} → {"name":""}.
  function skeleton(s) {
    if (s === "string") return "";
    if (s === "number" || s === "integer") return 0;
    if (s === "boolean") return false;
    if (Array.isArray(s)) return [];
    if (s && typeof s === "object")
      return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, skeleton(v)]));
    return {};
  }

  // ---- services and nodes (pushed on every registry change) ----
  // The http broker lists each topic's subscribers in the registry as `tsmicro.broker.<topic>`.
  const TOPIC_PREFIX = "tsmicro.broker.";
  const isTopic = (s) => s.name.startsWith(TOPIC_PREFIX);

  function renderServices() {
    const list = $("services");
    list.replaceChildren();
    const services = state.services.filter((s) => !isTopic(s));
    const topics = state.services.filter(isTopic);
    if (services.length === 0) list.append(h("li", { class: "muted" }, "no services registered"));
    for (const s of services) {
      const key = `${s.name}@${s.version}`;
      list.append(
        h(
          "li",
          {
            class: key === state.selected ? "selected" : undefined,
            "data-service": s.name,
            onclick: () => select(key),
          },
          h("b", {}, s.name),
          " ",
          h("span", { class: "muted" }, s.version),
          h("div", { class: "nodes" }, `${s.nodes.length} node${s.nodes.length === 1 ? "" : "s"}`),
        ),
      );
    }
    if (topics.length > 0) {
      list.append(h("li", { class: "heading" }, "Topics"));
      for (const t of topics) {
        const group = t.version === "broadcast" ? "broadcast" : t.version.replace(/^queue:/, "queue ");
        list.append(
          h(
            "li",
            { class: "topic", "data-topic": t.name.slice(TOPIC_PREFIX.length) },
            h("b", {}, t.name.slice(TOPIC_PREFIX.length)),
            h(
              "div",
              { class: "nodes" },
              `${group}, ${t.nodes.length} subscriber${t.nodes.length === 1 ? "" : "s"}`,
            ),
          ),
        );
      }
    }
    renderDetail();
  }

  function select(key) {
    const changed = state.selected !== key;
    state.selected = key;
    renderServices();
    if (changed) fillForm();
  }

  const selectedService = () => state.services.find((s) => `${s.name}@${s.version}` === state.selected);

  function renderDetail() {
    const s = selectedService();
    $("call-form").hidden = s === undefined;
    if (s === undefined) {
      $("service-title").textContent = state.selected ? `${state.selected} is gone` : "Select a service";
      $("nodes").replaceChildren();
      $("endpoints").replaceChildren();
      return;
    }
    $("service-title").replaceChildren(s.name, " ", h("span", { class: "muted" }, s.version));
    $("nodes").replaceChildren(
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, h("th", {}, "node"), h("th", {}, "address"), h("th", {}, "metadata"))),
        h(
          "tbody",
          {},
          s.nodes.map((n) =>
            h(
              "tr",
              {},
              h("td", { class: "mono" }, n.id),
              h("td", { class: "mono" }, n.address),
              h("td", { class: "mono" }, JSON.stringify(n.metadata)),
            ),
          ),
        ),
      ),
    );
    $("endpoints").replaceChildren(
      h("h2", { style: "margin-top:10px" }, "Endpoints"),
      h(
        "ul",
        {},
        s.endpoints.map((e) =>
          h(
            "li",
            { onclick: () => pickEndpoint(e.name) },
            h("b", {}, e.name),
            " ",
            h("span", { class: "mono muted" }, describeEndpoint(e)),
          ),
        ),
      ),
    );
  }

  function fillForm() {
    const s = selectedService();
    const sel = $("endpoint");
    sel.replaceChildren(...(s?.endpoints ?? []).map((e) => h("option", { value: e.name }, e.name)));
    if (s?.endpoints.length) pickEndpoint(s.endpoints[0].name);
  }

  function pickEndpoint(name) {
    const e = selectedService()?.endpoints.find((x) => x.name === name);
    $("endpoint").value = name;
    $("body").value = JSON.stringify(skeleton(e && requestShape(e)), null, 2);
  }

  $("endpoint").addEventListener("change", (ev) => pickEndpoint(ev.target.value));

  // ---- auth: a bearer token for a gateway that runs @tsmicro/auth, kept for this tab only ----
  const TOKEN_KEY = "tsmicro.dashboard.token";
  const authHeaders = () => {
    const t = sessionStorage.getItem(TOKEN_KEY);
    return t ? { authorization: `Bearer ${t}` } : {};
  };
  let tokenWaiters = [];
  function askToken(why) {
    $("token-form").hidden = false;
    $("token-why").textContent = why;
    return new Promise((resolve) => tokenWaiters.push(resolve));
  }
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(
      TOKEN_KEY,
      $("token")
        .value.trim()
        .replace(/^Bearer\s+/i, ""),
    );
    $("token").value = "";
    $("token-form").hidden = true;
    for (const w of tokenWaiters) w();
    tokenWaiters = [];
  });

  // ---- calling an endpoint through the gateway ----
  $("call-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const s = selectedService();
    if (s === undefined) return;
    const headers = {
      "content-type": "application/json",
      "x-micro-timeout": $("timeout").value || "5000",
      ...authHeaders(),
    };
    for (const line of $("metadata").value.split("\n")) {
      const i = line.indexOf("=");
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const box = $("result-box");
    const status = $("result-status");
    box.hidden = false;
    status.textContent = "calling…";
    status.className = "pill";
    const started = performance.now();
    try {
      const res = await fetch(
        `/api/${encodeURIComponent(s.name)}/${encodeURIComponent($("endpoint").value)}`,
        {
          method: "POST",
          headers,
          body: $("body").value,
        },
      );
      const text = await res.text();
      const took = performance.now() - started;
      const timing = /dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "");
      status.textContent = `${res.status} ${res.ok ? "OK" : res.statusText || "error"}`;
      status.className = `pill ${res.ok ? "ok" : "bad"}`;
      $("latency").textContent =
        `${took.toFixed(1)} ms in the browser${timing ? `, ${timing[1]} ms at the gateway` : ""}`;
      let pretty = text;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch {}
      const pre = $("result");
      pre.textContent = pretty;
      pre.dataset.status = String(res.status);
    } catch (err) {
      status.textContent = "failed";
      status.className = "pill bad";
      $("result").textContent = String(err);
    }
  });

  // ---- charts: rate and errors, p50/p90/p99 per endpoint ----
  /** Latency tick labels: ms below a second, seconds from there (one unit per axis). */
  function msLabels(ticks) {
    const max = Math.max(0, ...ticks.filter((t) => t !== null));
    if (max >= 1000) return ticks.map((t) => `${+(t / 1000).toFixed(3)} s`);
    return ticks.map((t) => `${+t.toFixed(2)} ms`);
  }
  const plainLabels = (ticks) => ticks.map((t) => String(+t.toFixed(2)));

  /** An axis as wide as its widest label (uPlot's fixed size cut "2,100" to ".100"). */
  function fitAxis(self, values, axisIdx, cycleNum) {
    const axis = self.axes[axisIdx];
    if (cycleNum > 1) return axis._size;
    let size = axis.ticks.size + axis.gap;
    const longest = (values ?? []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), "");
    if (longest !== "") {
      self.ctx.font = axis.font[0];
      const width = self.ctx.measureText(longest).width / devicePixelRatio;
      size += width;
      // What the axis fits, kept on the chart for tests: the widest label and the axis size.
      self.root.dataset[`axis${axisIdx}Label`] = String(Math.ceil(width));
      self.root.dataset[`axis${axisIdx}Size`] = String(Math.ceil(size) + 2);
    }
    return Math.ceil(size) + 2;
  }

  function chart(el, title, series, width, labels) {
    el.append(h("div", { class: "chart-title" }, title));
    return new uPlot(
      {
        width,
        height: 100,
        legend: { show: true, live: false },
        cursor: { show: false },
        scales: { x: { time: true } },
        axes: [
          {
            size: 24,
            values: (_, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString().slice(0, 8)),
          },
          {
            size: fitAxis,
            values: (_self, ticks) => {
              const out = labels(ticks);
              // Kept on the element for tests and for the curious: what the axis shows.
              el.dataset.yLabels = JSON.stringify(out);
              return out;
            },
          },
        ],
        series: [{}, ...series.map((x) => ({ width: 1.5, points: { show: true, size: 3 }, ...x }))],
      },
      [[], ...series.map(() => [])],
      el,
    );
  }

  function renderStats(list) {
    const box = $("charts");
    if (list.length > 0 && box.querySelector("p")) box.replaceChildren();
    for (const s of list) {
      const key = `${s.service}.${s.endpoint}`;
      let c = state.charts.get(key);
      if (c === undefined) {
        const totals = h("div", { class: "totals" });
        const a = h("div");
        const b = h("div");
        const card = h(
          "div",
          { class: "chart", "data-endpoint": key },
          h("h3", {}, `${s.service} ${s.endpoint}`),
          totals,
          a,
          b,
        );
        box.append(card);
        const width = Math.max(300, card.clientWidth || 320);
        c = {
          totals,
          rate: chart(
            a,
            "requests / s",
            [
              { label: "req/s", stroke: "#2563eb", points: { show: false } },
              { label: "err/s", stroke: "#dc2626", points: { show: false } },
            ],
            width,
            plainLabels,
          ),
          latency: chart(
            b,
            "latency",
            [
              { label: "p50", stroke: "#16a34a", spanGaps: true },
              { label: "p90", stroke: "#d97706", spanGaps: true },
              { label: "p99", stroke: "#9333ea", spanGaps: true },
            ],
            width,
            msLabels,
          ),
        };
        state.charts.set(key, c);
      }
      const t = s.total;
      c.totals.textContent = `${t.calls} calls, ${t.errors} errors (${t.calls ? Math.round((100 * t.errors) / t.calls) : 0}%), p50 ${ms(t.p50)}, p99 ${ms(t.p99)}`;
      c.rate.setData([s.t, s.rate, s.errors]);
      c.latency.setData([s.t, s.p50, s.p90, s.p99]);
    }
  }

  // ---- in-flight calls as chains: a tree per root call ----
  // A server call is `hop = service.endpoint@node` after its chain; its parent is the call
  // whose path (chain + hop) equals its chain. Calls with the same path cannot be told apart
  // (the chain names hops, not calls), so they are one tree node with a count. A client call
  // whose server side is not in view (still selecting or dialing, or on a node that did not
  // answer) is a leaf of its caller.
  const hopOf = (c, node) => `${c.service}.${c.endpoint}@${node}`;
  const keyOf = (path) => path.join(" > ");

  function buildChains(answers) {
    const nodes = new Map();
    let count = 0;
    const add = (c, side, node, path) => {
      const key = keyOf(path);
      let n = nodes.get(key);
      if (n === undefined) {
        n = { service: c.service, endpoint: c.endpoint, side, node, chain: c.chain, calls: [], children: [] };
        nodes.set(key, n);
      }
      n.calls.push(c);
      count++;
    };
    for (const a of answers) {
      if (!a.result) continue;
      for (const c of a.result.server) add(c, "server", a.node, [...c.chain, hopOf(c, a.node)]);
    }
    const served = new Set([...nodes.values()].map((n) => `${keyOf(n.chain)}|${n.service}.${n.endpoint}`));
    for (const a of answers) {
      if (!a.result) continue;
      for (const c of a.result.client) {
        if (served.has(`${keyOf(c.chain)}|${c.service}.${c.endpoint}`)) continue;
        add(c, "client", c.node ?? "", [...c.chain, `→${c.service}.${c.endpoint}`]);
      }
    }
    const roots = [];
    for (const n of nodes.values()) {
      const parent = n.chain.length > 0 ? nodes.get(keyOf(n.chain)) : undefined;
      if (parent && parent !== n) parent.children.push(n);
      else roots.push(n);
    }
    return { roots, count };
  }

  // Trees of the same shape (the same endpoints, whatever the nodes) fold into one line with a count.
  const signature = (n) =>
    `${n.side}:${n.service}.${n.endpoint}(${n.children.map(signature).sort().join(",")})`;

  function callLine(group) {
    const calls = group.flatMap((n) => n.calls);
    const [first] = group;
    const c = calls[0];
    const ages = calls.map((x) => x.ageMs).sort((x, y) => x - y);
    const many = calls.length > 1;
    const nodes = new Set(group.map((n) => n.node));
    return h(
      "div",
      { class: "call", "data-call": `${first.service}.${first.endpoint}` },
      h(
        "span",
        { class: "mono" },
        `${first.side === "client" ? "→ " : ""}${first.service}.${first.endpoint}`,
      ),
      many ? h("span", { class: "pill count" }, `×${calls.length}`) : "",
      " ",
      h("span", { class: `pill phase ${c.phase}` }, c.phase),
      " ",
      h("span", { class: "muted" }, many ? `${ages[0]}–${ages.at(-1)} ms` : `${c.ageMs} ms`),
      calls.some((x) => x.cycle) ? h("span", { class: "pill bad" }, "cycle") : "",
      // A client call whose node's circuit breaker is open or half-open (its probe).
      calls.some((x) => x.breaker)
        ? h("span", { class: "pill bad" }, `breaker ${calls.find((x) => x.breaker).breaker}`)
        : "",
      h(
        "span",
        { class: "mono muted node" },
        nodes.size === 1 ? ` ${first.node}` : ` on ${nodes.size} nodes`,
      ),
    );
  }

  function renderTree(group) {
    const li = h("li", { class: "chain-node" }, callLine(group));
    const kids = new Map();
    for (const n of group) {
      for (const k of n.children) {
        const sig = signature(k);
        if (!kids.has(sig)) kids.set(sig, []);
        kids.get(sig).push(k);
      }
    }
    if (kids.size > 0) li.append(h("ul", {}, [...kids.values()].map(renderTree)));
    return li;
  }

  function renderInflight(answers) {
    const box = $("inflight");
    const { roots, count } = buildChains(answers);
    const groups = new Map();
    for (const r of roots) {
      const sig = signature(r);
      if (!groups.has(sig)) groups.set(sig, []);
      groups.get(sig).push(r);
    }
    const failed = answers.filter((a) => a.error);
    const chains = roots.reduce((n, r) => n + r.calls.length, 0);
    $("inflight-summary").textContent =
      roots.length === 0 ? "" : `${chains} chain${chains === 1 ? "" : "s"}, ${count} calls`;
    box.replaceChildren(
      ...(roots.length === 0 ? [h("p", { class: "muted" }, "nothing in flight")] : []),
      ...[...groups.values()].map((g) => h("ul", { class: "chain" }, renderTree(g))),
      ...failed.map((a) => h("p", { class: "muted no-answer" }, `${a.node}: no answer: ${a.error.detail}`)),
    );
  }

  // ---- circuit breakers: each node's client reports the breakers of the nodes it calls ----
  const BREAKER_CLASS = { closed: "ok", "half-open": "off", open: "bad" };

  function renderBreakers(answers) {
    const rows = answers.flatMap((a) =>
      (a.result?.breakers ?? []).map((b) =>
        h(
          "li",
          { class: "breaker", "data-service": b.service, "data-node": b.node, "data-state": b.state },
          h("span", { class: "mono muted" }, `${a.node} → `),
          h("span", { class: "mono" }, `${b.service} ${b.node}`),
          " ",
          h("span", { class: `pill ${BREAKER_CLASS[b.state] ?? ""}` }, b.state),
          " ",
          h(
            "span",
            { class: "muted" },
            `${b.failures}/${b.requests} failed in the window` +
              (b.probeAt ? `, probe in ${Math.max(0, b.probeAt - Date.now())} ms` : ""),
          ),
        ),
      ),
    );
    $("breakers").replaceChildren(
      ...(rows.length > 0
        ? rows
        : [
            h(
              "li",
              { class: "muted" },
              "no breaker records (the client option breaker is off, or no calls yet)",
            ),
          ]),
    );
  }

  // ---- live data: Server-Sent Events read with fetch (an EventSource cannot send a token) ----
  const live = $("live");
  const handlers = {
    services(data) {
      $("registry").textContent = data.registry;
      state.services = data.services;
      if (state.selected === undefined && state.services.length > 0) {
        select(`${state.services[0].name}@${state.services[0].version}`);
      } else renderServices();
    },
    stats: renderStats,
    inflight(answers) {
      renderInflight(answers);
      renderBreakers(answers);
    },
    failure(e) {
      live.textContent = `error: ${e.detail}`;
      live.className = "pill bad";
    },
  };

  function dispatch(frame) {
    const event = /^event: (.*)$/m.exec(frame)?.[1];
    const data = /^data: (.*)$/m.exec(frame)?.[1];
    if (event && data && handlers[event]) handlers[event](JSON.parse(data));
  }

  async function connect() {
    for (;;) {
      try {
        const res = await fetch("/_/events", { headers: authHeaders() });
        if (res.status === 401 || res.status === 403) {
          live.textContent = "needs a token";
          live.className = "pill off";
          const body = await res.json().catch(() => ({}));
          await askToken(body.detail ?? `${res.status}`);
          continue;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        live.textContent = "live";
        live.className = "pill ok";
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          for (let i = buffer.indexOf("\n\n"); i >= 0; i = buffer.indexOf("\n\n")) {
            dispatch(buffer.slice(0, i));
            buffer = buffer.slice(i + 2);
          }
        }
      } catch {}
      live.textContent = "reconnecting";
      live.className = "pill off";
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  void connect();
})();
