// The tsmicro dashboard: one EventSource for live data, fetch for calls, uPlot for charts.
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

  const shape = (v) => (v === undefined ? "—" : JSON.stringify(v));
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
            h("span", { class: "mono muted" }, `${shape(e.request)} → ${shape(e.response)}`),
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
    $("body").value = JSON.stringify(skeleton(e?.request), null, 2);
  }

  $("endpoint").addEventListener("change", (ev) => pickEndpoint(ev.target.value));

  // ---- calling an endpoint through the gateway ----
  $("call-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const s = selectedService();
    if (s === undefined) return;
    const headers = { "content-type": "application/json", "x-micro-timeout": $("timeout").value || "5000" };
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
  function chart(el, title, series, width) {
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
          { size: 40 },
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
          ),
          latency: chart(
            b,
            "latency ms",
            [
              { label: "p50", stroke: "#16a34a", spanGaps: true },
              { label: "p90", stroke: "#d97706", spanGaps: true },
              { label: "p99", stroke: "#9333ea", spanGaps: true },
            ],
            width,
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

  // ---- in-flight calls of every node, with their chains ----
  function renderInflight(answers) {
    const rows = [];
    for (const a of answers) {
      if (a.error) {
        rows.push(
          h(
            "tr",
            {},
            h("td", { class: "mono" }, a.node),
            h("td", { colspan: "5", class: "muted" }, `no answer: ${a.error.detail}`),
          ),
        );
        continue;
      }
      for (const side of ["server", "client"]) {
        for (const c of a.result[side]) {
          rows.push(
            h(
              "tr",
              {},
              h("td", { class: "mono" }, a.node),
              h("td", {}, side),
              h("td", { class: "mono" }, `${c.service}.${c.endpoint}`),
              h("td", {}, c.phase),
              h("td", {}, `${c.ageMs} ms`),
              h("td", { class: "mono" }, c.chain.length ? c.chain.join(" → ") : "(from outside)"),
            ),
          );
        }
      }
    }
    if (rows.length === 0)
      rows.push(h("tr", {}, h("td", { colspan: "6", class: "muted" }, "nothing in flight")));
    $("inflight").replaceChildren(...rows);
  }

  // ---- live data ----
  const live = $("live");
  const events = new EventSource("/_/events");
  events.addEventListener("open", () => {
    live.textContent = "live";
    live.className = "pill ok";
  });
  events.addEventListener("error", () => {
    live.textContent = "reconnecting";
    live.className = "pill off";
  });
  events.addEventListener("services", (ev) => {
    const data = JSON.parse(ev.data);
    $("registry").textContent = data.registry;
    state.services = data.services;
    if (state.selected === undefined && state.services.length > 0) {
      select(`${state.services[0].name}@${state.services[0].version}`);
    } else renderServices();
  });
  events.addEventListener("stats", (ev) => renderStats(JSON.parse(ev.data)));
  events.addEventListener("inflight", (ev) => renderInflight(JSON.parse(ev.data)));
  events.addEventListener("failure", (ev) => {
    const e = JSON.parse(ev.data);
    live.textContent = `error: ${e.detail}`;
    live.className = "pill bad";
  });
})();
