// heatbalance's network view: the network as a picture with live values (§5.3.5-1).
// A Home Assistant custom panel (Lit): HA passes `hass`, `narrow` and `panel`; the data come
// from the integration's websocket subscription `heatbalance/view/subscribe` — no polling.
import { LitElement, html, svg, css, nothing } from "lit";
import { layout, ROW, SQUARE, PER_LINE } from "./layout.js";
import { lineChart } from "./charts.js";
import { strings } from "./i18n.js";

const COLOURS = {
  in_band: "var(--success-color, #43a047)",
  short: "var(--info-color, #039be5)",
  over: "var(--error-color, #db4437)",
  no_data: "var(--disabled-color, #9e9e9e)",
  fault: "#8e24aa",
  manual: "var(--warning-color, #ffa600)",
};
const STATES = Object.keys(COLOURS);
const NAME_MAX = 150; // px the topology gives a name at most
const VALUES_WIDTH = 118; // px of "−33% 41.4°C 100%" at the graph's 11 px

// Width of a label at 11 px, estimated without a layout pass (wide CJK glyphs count double).
function textWidth(text) {
  let px = 0;
  for (const ch of text) px += ch.codePointAt(0) >= 0x2e80 ? 11 : 6.4;
  return px;
}

// `text` cut to fit `room` px, ending in "…" when cut.
function clip(text, room) {
  if (textWidth(text) <= room) return text;
  let out = "";
  for (const ch of text) {
    if (textWidth(out + ch + "…") > room) break;
    out += ch;
  }
  return `${out}…`;
}
const COLUMNS = [
  ["name", "name"],
  ["state", "state"],
  ["flow_dev", "flow_dev"],
  ["return_c", "return_c"],
  ["opening", "opening"],
  ["dp_kpa", "dp"],
  ["alarms", "alarms"],
  ["quality", "quality"],
];

class HeatbalancePanel extends LitElement {
  static properties = {
    hass: { attribute: false },
    narrow: { type: Boolean },
    panel: { attribute: false },
    _networks: { state: true },
    _entry: { state: true },
    _view: { state: true },
    _expanded: { state: true },
    _sort: { state: true },
    _message: { state: true },
    _archive: { state: true },
  };

  constructor() {
    super();
    this._networks = null;
    this._entry = null;
    this._view = null;
    this._expanded = new Set();
    this._sort = ["state", 1];
    this._message = "";
    this._archive = null;
    this._unsub = null;
    this._opened = performance.now();
  }

  connectedCallback() {
    super.connectedCallback();
    this._opened = performance.now();
    if (this.hass && this._networks === null) this._loadNetworks();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this._unsubscribe();
  }

  updated(changed) {
    if (changed.has("hass") && this.hass && this._networks === null) this._loadNetworks();
    if (this._view && this._view.live && !this.hasAttribute("data-rendered")) {
      // first complete picture: the browser tests read how long it took
      this.setAttribute("data-rendered", (performance.now() - this._opened).toFixed(0));
    }
    if (changed.has("_view") && this._view && this._view.live) {
      // which cycle is on screen, and since when (wall clock): the browser tests read both
      this.setAttribute("data-time", this._view.live.time_s);
      this.setAttribute("data-updated", Date.now());
    }
    this.toggleAttribute("dark", Boolean(this.hass && this.hass.themes && this.hass.themes.darkMode));
  }

  get _t() {
    const h = this.hass;
    return strings((h && ((h.locale && h.locale.language) || h.language)) || "en");
  }

  async _loadNetworks() {
    this._networks = [];
    this._networks = await this.hass.callWS({ type: "heatbalance/view/networks" });
    const wanted = new URLSearchParams(location.search).get("entry");
    const first = this._networks.find((n) => n.entry_id === wanted) || this._networks[0];
    if (first) this._select(first.entry_id, false);
  }

  // `switched`: the user picked another network; the render time then counts from here
  async _select(entryId, switched = true) {
    this._unsubscribe();
    this._entry = entryId;
    this._view = null;
    this._expanded = new Set();
    this._archive = null;
    this.removeAttribute("data-rendered");
    if (switched) this._opened = performance.now();
    const unsub = await this.hass.connection.subscribeMessage(
      (message) => this._onMessage(entryId, message),
      { type: "heatbalance/view/subscribe", entry_id: entryId },
    );
    if (this._entry !== entryId) unsub();
    else this._unsub = unsub;
  }

  _unsubscribe() {
    if (this._unsub) {
      this._unsub();
      this._unsub = null;
    }
  }

  _onMessage(entryId, message) {
    if (entryId !== this._entry) return;
    if (message.topology) {
      this._view = { ...message, history: message.history || [] };
      return;
    }
    const history = this._view.history.slice(-719);
    if (message.point && (!history.length || history[history.length - 1].t !== message.point.t)) {
      history.push(message.point);
    }
    this._view = { ...this._view, live: message.live, history };
  }

  render() {
    const t = this._t;
    return html`
      <div class="toolbar">
        ${this.narrow
          ? html`<button class="menu" aria-label="menu" @click=${this._toggleMenu}>
              <svg viewBox="0 0 24 24"><path d="M3,6H21V8H3V6M3,11H21V13H3V11M3,16H21V18H3V16Z"></path></svg>
            </button>`
          : nothing}
        <div class="title">${t.title}</div>
        ${this._networks && this._networks.length > 1
          ? html`<select class="networks" @change=${(e) => this._select(e.target.value)}>
              ${this._networks.map(
                (n) => html`<option value=${n.entry_id} ?selected=${n.entry_id === this._entry}>${n.title}</option>`,
              )}
            </select>`
          : nothing}
      </div>
      <div class="content">${this._content(t)}</div>
    `;
  }

  _content(t) {
    if (this._networks && this._networks.length === 0) return html`<ha-card class="pad">${t.no_networks}</ha-card>`;
    if (!this._view || !this._view.live) return html`<ha-card class="pad">${t.loading}</ha-card>`;
    return html`
      ${this._summary(t)}
      ${this._proposal(t)}
      <div class="columns">
        <ha-card class="topology">
          <h2>${t.topology}</h2>
          ${this._legend(t)}
          <div class="scroll">${this._graph(t)}</div>
        </ha-card>
        <div class="side">
          <ha-card>
            <h2>${t.gradient}</h2>
            ${this._gradient(t)}
          </ha-card>
          <ha-card class="charts">
            <h2>${t.charts}</h2>
            ${this._charts(t)}
          </ha-card>
        </div>
      </div>
      <ha-card class="table">
        <h2>${t.table}</h2>
        ${this._table(t)}
      </ha-card>
      <ha-card class="archive">
        <h2>${t.archive}</h2>
        ${this._archiveForm(t)}
        ${this._archiveResult(t)}
      </ha-card>
    `;
  }

  // --- the archive's history (§5.2.4-5): any signal of any inlet over any time range ---
  // The integration's `history` action answers (any logged-in user may read it); the form
  // keeps its choice across cycles, the result stays until the next query.
  _archiveChoice() {
    if (!this._archive) {
      const hour = 3600 * 1000;
      const local = (ms) => {
        const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
        return d.toISOString().slice(0, 16);
      };
      const now = Date.now();
      this._archive = { inlet: "network", signal: "share_in_band", start: local(now - 24 * hour), end: local(now + 60000), result: null, busy: false, error: "" };
    }
    return this._archive;
  }

  _archiveForm(t) {
    const a = this._archiveChoice();
    const signals = this._signalsFor(a.inlet);
    const set = (key) => (e) => {
      const next = { ...this._archive, [key]: e.target.value };
      if (key === "inlet" && !this._signalsFor(next.inlet).includes(next.signal)) next.signal = this._signalsFor(next.inlet)[0];
      this._archive = next;
    };
    const label = (s) => (t.signals && t.signals[s]) || s;
    return html`<div class="archive-form">
      <label>${t.archive_inlet}
        <select name="inlet" @change=${set("inlet")}>
          <option value="network" ?selected=${a.inlet === "network"}>${t.archive_network}</option>
          ${this._view.topology.inlets.map((i) => html`<option value=${i.id} ?selected=${a.inlet === i.id}>${i.name}</option>`)}
        </select></label>
      <label>${t.archive_signal}
        <select name="signal" @change=${set("signal")}>
          ${signals.map((s) => html`<option value=${s} ?selected=${a.signal === s}>${label(s)}</option>`)}
        </select></label>
      <label>${t.archive_from}<input name="start" type="datetime-local" .value=${a.start} @change=${set("start")} /></label>
      <label>${t.archive_to}<input name="end" type="datetime-local" .value=${a.end} @change=${set("end")} /></label>
      <button data-action="archive" ?disabled=${a.busy} @click=${() => this._queryArchive()}>${t.archive_show}</button>
      ${a.error ? html`<span class="message">${a.error}</span>` : nothing}
    </div>`;
  }

  _signalsFor(inlet) {
    const lists = this._view.archive || { inlet: [], network: [] };
    return lists[inlet === "network" ? "network" : "inlet"];
  }

  async _queryArchive() {
    const a = { ...this._archiveChoice(), busy: true, error: "" };
    this._archive = a;
    try {
      const answer = await this.hass.callWS({
        type: "call_service",
        domain: "heatbalance",
        service: "history",
        service_data: {
          config_entry_id: this._entry,
          inlet: a.inlet,
          signals: [a.signal],
          start: new Date(a.start).toISOString(),
          end: new Date(a.end).toISOString(),
        },
        return_response: true,
      });
      this._archive = { ...this._archive, busy: false, result: { ...answer.response, signal: a.signal } };
    } catch (err) {
      this._archive = { ...this._archive, busy: false, result: null, error: (err && err.message) || String(err) };
    }
  }

  _archiveResult(t) {
    const result = this._archive && this._archive.result;
    if (!result) return nothing;
    const rows = result.rows;
    const signal = result.signal;
    if (!rows.length) return html`<div class="chart-empty" data-archive-rows="0">${t.archive_empty}</div>`;
    const value = (r) => {
      const v = r[signal];
      return typeof v === "boolean" ? (v ? 1 : 0) : v;
    };
    const times = rows.map((r) => Date.parse(r.time));
    const start = times[0];
    // at most ~600 points drawn: a season of one inlet has 26,000 cycles
    const step = Math.max(1, Math.ceil(rows.length / 600));
    const points = [];
    for (let k = 0; k < rows.length; k += step) points.push([(times[k] - start) / 3600000, value(rows[k])]);
    const shown = rows.slice(-200).reverse();
    const flag = (r) => ((r.flagged || []).includes(signal) ? t.flagged : (r.estimated || []).includes(signal) ? t.estimated : "");
    const cell = (v) => (v === null || v === undefined ? "–" : typeof v === "number" ? String(Math.round(v * 1000) / 1000) : String(v));
    const label = (t.signals && t.signals[signal]) || signal;
    return html`<div class="archive-result" data-archive-rows=${rows.length} data-archive-signal=${signal} data-archive-inlet=${result.inlet}>
      ${lineChart({ name: "archive", series: [{ label, color: "var(--primary-color)", points }], xLabel: `${t.archive_hours} ${new Date(start).toLocaleString()}`, empty: t.archive_empty })}
      <div class="counts">${rows.length} ${t.archive_rows}${result.truncated ? ` (${t.archive_truncated})` : ""}${rows.length > shown.length ? ` — ${t.archive_latest} ${shown.length}` : ""}</div>
      <div class="scroll-x archive-table"><table>
        <thead><tr><th>${t.archive_time}</th><th>${label}</th><th>${t.archive_quality}</th></tr></thead>
        <tbody>
          ${shown.map((r) => html`<tr data-archive-time=${r.time}>
            <td>${new Date(r.time).toLocaleString()}</td><td data-value=${String(r[signal])}>${cell(r[signal])}</td><td>${flag(r)}</td>
          </tr>`)}
        </tbody>
      </table></div>
    </div>`;
  }

  _summary(t) {
    const live = this._view.live;
    const last = this._view.history[this._view.history.length - 1];
    const state = last ? last.state : live.balanced ? "balanced" : "balancing";
    const counts = {};
    for (const row of Object.values(live.inlets)) counts[row.state] = (counts[row.state] || 0) + 1;
    const tile = (label, value, cls = "") => html`<div class="tile ${cls}"><span>${label}</span><b>${value}</b></div>`;
    const num = (v, unit) => (v === null || v === undefined ? "–" : `${v} ${unit}`);
    // a real plant's substation figures are the network model's: "≈ value" (issue 10 item 3)
    const model = (key, unit) =>
      (live.estimated || []).includes(key) && live[key] !== null && live[key] !== undefined
        ? html`<span class="estimated" data-estimated=${key} title=${t.estimated_tip}>≈ ${num(live[key], unit)}</span>`
        : num(live[key], unit);
    return html`<ha-card class="summary">
      ${tile(t.balance_state, t[state] || state, `state-${state}`)}
      ${tile(t.share_in_band, num(live.share_in_band, "%"))}
      ${tile(t.supply, model("supply_c", "°C"))}
      ${tile(t.return, model("return_c", "°C"))}
      ${tile(t.outdoor, model("outdoor_c", "°C"))}
      ${tile(t.alarms, live.alarms)}
      ${tile(t.mode, live.auto ? t.auto : t.manual_mode)}
      <div class="actions">
        <button data-action="balance_now" @click=${() => this._call("balance_now")}>${t.balance_now}</button>
        <button data-action="acknowledge_alarm" ?disabled=${!live.alarms}
          @click=${() => this._call("acknowledge_alarm")}>${t.acknowledge}</button>
        ${this._message ? html`<span class="message">${this._message}</span>` : nothing}
      </div>
      <div class="counts">
        ${STATES.filter((s) => counts[s]).map(
          (s) => html`<span class="count"><i style="background:${COLOURS[s]}"></i>${counts[s]} ${t[s]}</span>`,
        )}
      </div>
    </ha-card>`;
  }

  // Manual mode (§5.3.6-6): the proposal not yet confirmed — the pump's speed beside the
  // valves that would move (opening now → proposed; a valve whose proposed opening is the
  // one it has, to the 0.1 % shown, is left out), and the button that sends exactly this.
  // A valve held by hand (its inlet's automatic switch off) is never sent: it is listed
  // apart, with the opening the plan counted on, for the operator's hand.
  // Once confirmed the card goes; the set values then show what went out
  // (docs/integration.md).
  _proposal(t) {
    const live = this._view.live;
    if (!live.proposal) return nothing;
    const names = new Map(this._view.topology.inlets.map((i) => [i.id, i.name]));
    const named = (list) =>
      list
        .map(([id, r]) => ({ id, name: names.get(id) || id, now: r.opening, command: r.command, planned: r.planned }))
        .sort((a, b) => a.name.localeCompare(b.name));
    const entries = Object.entries(live.inlets);
    const rows = named(
      entries.filter(
        ([, r]) => !r.hand && r.command !== null && r.command !== undefined && r.command !== r.opening,
      ),
    );
    const held = named(entries.filter(([, r]) => r.hand));
    const pct = (v) => (v === null || v === undefined ? "–" : `${v} %`);
    const pump = live.pump_command;
    return html`<ha-card class="proposal" data-proposal>
      <h2>${t.proposal}</h2>
      <div class="summary">
        <div class="tile" data-proposed-pump=${pump === null || pump === undefined ? "" : String(pump)}>
          <span>${t.proposed_pump}</span><b>${pump === null || pump === undefined ? t.not_proposed : pct(pump)}</b>
        </div>
        <div class="tile" data-moving><span>${t.proposed_valves}</span><b>${rows.length}</b></div>
        <div class="actions">
          <button data-action="confirm_proposal" @click=${() => this._call("confirm_proposal")}>${t.confirm}</button>
        </div>
      </div>
      ${rows.length
        ? html`<div class="scroll-x"><table>
            <thead><tr><th>${t.name}</th><th>${t.opening}</th><th>${t.proposed_opening}</th></tr></thead>
            <tbody>${rows.map(
              (r) => html`<tr data-proposed=${r.id}><td>${r.name}</td><td>${r.now ?? "–"}</td>
                <td data-value="command">${r.command}</td></tr>`,
            )}</tbody>
          </table></div>`
        : html`<p class="no-moves" data-no-moves>${t.no_valve_moves}</p>`}
      ${held.length
        ? html`<div class="held" data-held-by-hand>
            <h3 title=${t.held_tip}>${t.held_by_hand}</h3>
            <div class="scroll-x"><table>
              <thead><tr><th>${t.name}</th><th>${t.opening}</th><th>${t.planned_opening}</th></tr></thead>
              <tbody>${held.map(
                (r) => html`<tr data-held=${r.id}><td>${r.name}</td><td>${r.now ?? "–"}</td>
                  <td data-value="planned">${r.planned ?? "–"}</td></tr>`,
              )}</tbody>
            </table></div>
          </div>`
        : nothing}
    </ha-card>`;
  }

  // Actions are the integration's services: HA and the services decide who may (operators
  // may balance and acknowledge, read-only users are refused); the panel shows the answer.
  async _call(service) {
    this._message = "";
    try {
      await this.hass.callService("heatbalance", service, { config_entry_id: this._entry });
      this._message = this._t.done;
    } catch (err) {
      this._message = (err && err.message) || String(err);
    }
  }

  _legend(t) {
    return html`<div class="legend">
      ${STATES.map((s) => html`<span><i style="background:${COLOURS[s]}"></i>${t[s]}</span>`)}
      <span class="estimated" data-legend="estimated" title=${t.estimated_tip}>${t.estimated_legend}</span>
    </div>`;
  }

  _graph(t) {
    const { topology, live } = this._view;
    const pos = layout(topology, this._expanded);
    // names end where the values column starts: one column for all, right of the deepest
    // inlet and the longest name up to NAME_MAX px (longer ones end in "…", full in the tooltip)
    const inletList = [...pos.inlets.values()];
    const nameWidth = Math.min(NAME_MAX, Math.max(40, ...inletList.map((i) => textWidth(i.name))));
    const columnX = Math.max(0, ...inletList.map((i) => i.x)) + 12 + nameWidth + 10;
    const width = Math.max(columnX + VALUES_WIDTH + 50, pos.width + PER_LINE * (SQUARE + 2) + 12);
    const edges = [];
    for (const [, node] of pos.nodes) {
      if (node.folded || node.parent === null) continue;
      const parent = pos.nodes.get(node.parent);
      if (!parent) continue;
      edges.push(svg`<path class="pipe" d="M${parent.x},${parent.y}V${node.y}H${node.x}"></path>`);
    }
    for (const [, inlet] of pos.inlets) {
      const node = pos.nodes.get(inlet.parent);
      if (node) edges.push(svg`<path class="pipe" d="M${node.x},${node.y}V${inlet.y}H${inlet.x}"></path>`);
    }
    const loops = topology.loops.map(([a, b]) => {
      const p = pos.nodes.get(a);
      const q = pos.nodes.get(b);
      if (!p || !q) return nothing;
      const x = Math.max(p.x, q.x) + 10;
      return svg`<path class="loop" d="M${p.x},${p.y}H${x}V${q.y}H${q.x}"><title>${t.loop} ${a}–${b}</title></path>`;
    });
    const root = pos.nodes.get(topology.substation.node);
    const inlets = inletList.map((inlet) => this._inlet(t, inlet, live, columnX, columnX - inlet.x - 22));
    return html`<svg class="graph" width=${width} height=${pos.height + 4} viewBox="-14 -2 ${width + 14} ${pos.height + 4}">
      ${edges}${loops}
      ${root
        ? svg`<g class="substation"><rect x="-12" y=${root.y - 8} width="16" height="16" rx="3"></rect>
            <title>${topology.substation.name || t.substation}</title></g>`
        : nothing}
      ${inlets}
    </svg>`;
  }

  _inlet(t, inlet, live, columnX, nameRoom) {
    const row = live.inlets[inlet.id];
    const state = row ? row.state : "no_data";
    const fmt = (v, unit, digits = 0) => (v === null || v === undefined ? "–" : `${v.toFixed(digits)}${unit}`);
    // an estimate is drawn "≈ value" in italics, with the reason as its tooltip
    const value = (key, unit, digits = 0) => {
      const guess = row.estimated && row.estimated.includes(key) && row[key] !== null;
      return guess
        ? svg`<tspan class="estimated" data-estimated=${key}>≈${fmt(row[key], unit, digits)}<title>${t.estimated_tip}</title></tspan>`
        : svg`<tspan data-value=${key}>${fmt(row[key], unit, digits)}</tspan>`;
    };
    const text = row
      ? svg`${value("flow_dev", "%")}  ${value("return_c", "°C", 1)}  ${value("opening", "%")}`
      : "";
    const households = inlet.households;
    const open = this._expanded.has(inlet.id);
    const squares = open
      ? households.map((h, i) => {
          const s = live.households[h] || (live.inlets[h] ? live.inlets[h].state : "no_data");
          const x = inlet.x + 12 + (i % PER_LINE) * (SQUARE + 2);
          const y = inlet.y + ROW / 2 + Math.floor(i / PER_LINE) * (SQUARE + 2);
          return svg`<rect class="household" data-household=${h} data-state=${s} x=${x} y=${y}
            width=${SQUARE} height=${SQUARE} fill=${COLOURS[s]}><title>${h}: ${t[s]}</title></rect>`;
        })
      : nothing;
    const toggle = households.length
      ? svg`<g class="toggle" data-toggle=${inlet.id} @click=${() => this._toggle(inlet.id)}>
          <rect x=${columnX + VALUES_WIDTH} y=${inlet.y - 8} width="40" height="16" rx="8"></rect>
          <text x=${columnX + VALUES_WIDTH + 20} y=${inlet.y + 4} text-anchor="middle">${open ? "−" : "+"}${households.length}</text>
          <title>${open ? t.collapse : t.expand} (${households.length} ${t.households})</title></g>`
      : nothing;
    return svg`<g class="inlet" data-inlet=${inlet.id} data-state=${state} @click=${() => this._open(inlet.id)}>
        <circle cx=${inlet.x} cy=${inlet.y} r="7" fill=${COLOURS[state]}></circle>
        <text x=${inlet.x + 12} y=${inlet.y + 4} class="name">${clip(inlet.name, nameRoom)}</text>
        <text x=${columnX} y=${inlet.y + 4} class="values">${text}</text>
        <title>${inlet.name}: ${t[state]}</title>
      </g>${toggle}${squares}`;
  }

  _toggle(id) {
    const next = new Set(this._expanded);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    this._expanded = next;
  }

  _gradient(t) {
    const { topology, live } = this._view;
    const shown = topology.inlets.filter(
      (i) => live.inlets[i.id] && live.inlets[i.id].dp_kpa !== null && Number.isFinite(i.dist_m),
    );
    const points = shown.map((i) => [i.dist_m, live.inlets[i.id].dp_kpa]).sort((a, b) => a[0] - b[0]);
    // ΔP of inlets without pressure transmitters is the network model's: say how many
    const guessed = shown.filter((i) => (live.inlets[i.id].estimated || []).includes("dp_kpa")).length;
    return html`${lineChart({
      name: "gradient",
      series: [{ label: "ΔP (kPa)", color: "var(--primary-color)", points, dots: true }],
      xLabel: t.distance,
      empty: t.no_points,
    })}${guessed
      ? html`<div class="estimated note" data-estimated-count=${guessed} title=${t.estimated_tip}>
          ${t.estimated_legend}: ${guessed} / ${shown.length}</div>`
      : nothing}`;
  }

  _charts(t) {
    const h = this._view.history;
    const start = h.length ? h[0].t : 0;
    const hours = (p) => (p.t - start) / 3600;
    const series = (key, label, color, scale = 1) => ({
      key,
      label,
      color,
      points: h.map((p) => [hours(p), p[key] === null || p[key] === undefined ? null : p[key] * scale]),
    });
    const xLabel = `${t.cycle} (h)`;
    return html`
      <h3>${t.share_chart}</h3>
      ${lineChart({ name: "share", series: [series("share", t.share_in_band, "var(--success-color, #43a047)")], fixed: [0, 100], xLabel, empty: t.no_points })}
      <h3>${t.pump_chart}</h3>
      ${lineChart({
        name: "pump",
        series: [
          series("head_m", t.head, "var(--primary-color)"),
          series("power_w", t.power, "var(--accent-color, #ff9800)", 0.001),
        ],
        xLabel,
        empty: t.no_points,
      })}
      <h3>${t.forecast_chart}</h3>
      ${lineChart({
        name: "forecast",
        series: [
          series("forecast_kw", t.forecast, "var(--accent-color, #ff9800)"),
          series("heat_kw", t.actual, "var(--primary-color)"),
          // a cycle whose heat was the engine's estimate (a meter lost or rejected): ≈, dashed
          { ...series("heat_estimate_kw", `≈ ${t.estimated}`, "var(--primary-color)"), dashed: true, dots: true, optional: true },
        ],
        xLabel,
        empty: t.no_points,
      })}
    `;
  }

  _table(t) {
    const { topology, live } = this._view;
    const [key, dir] = this._sort;
    const names = new Map(topology.inlets.map((i) => [i.id, i.name]));
    const rows = Object.entries(live.inlets).map(([id, row]) => ({ id, name: names.get(id) || id, ...row }));
    const rank = (r) => (key === "state" ? STATES.indexOf(r.state) : r[key]);
    rows.sort((a, b) => {
      const x = rank(a);
      const y = rank(b);
      if (x === y) return a.name.localeCompare(b.name);
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    const cell = (v) => (v === null || v === undefined ? "–" : v);
    // an estimate is shown "≈ value" in italics, the reason as its tooltip (issue 10 item 3)
    // a reading the engine rejected is not shown: "✕", the reason in diagnostics
    const value = (r, key) =>
      r.estimated && r.estimated.includes(key) && r[key] !== null && r[key] !== undefined
        ? html`<td class="estimated" data-estimated=${key} title=${t.estimated_tip}>≈ ${r[key]}</td>`
        : r.flagged && r.flagged.includes(key) && (r[key] === null || r[key] === undefined)
          ? html`<td class="rejected" data-rejected=${key} title=${t.rejected_tip}>✕</td>`
          : html`<td>${cell(r[key])}</td>`;
    return html`<div class="scroll-x"><table>
      <thead><tr>
        ${COLUMNS.map(
          ([k, label]) => html`<th data-sort=${k} class=${k === key ? (dir > 0 ? "asc" : "desc") : ""}
            @click=${() => (this._sort = [k, k === key ? -dir : 1])}>${t[label]}</th>`,
        )}
      </tr></thead>
      <tbody>
        ${rows.map(
          (r) => html`<tr data-row=${r.id}>
            <td><a href=${this._deviceUrl(r.id)} @click=${(e) => this._open(r.id, e)}>${r.name}</a></td>
            <td><i class="dot" style="background:${COLOURS[r.state]}"></i>${t[r.state]}</td>
            ${value(r, "flow_dev")}
            ${value(r, "return_c")}
            ${value(r, "opening")}
            ${value(r, "dp_kpa")}
            <td>${r.alarms}</td>
            <td>${cell(r.quality)}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>`;
  }

  _deviceUrl(id) {
    const device = this._view.devices[id];
    return device && this._view.admin ? `/config/devices/device/${device.device_id}` : "#";
  }

  // Admins go to the inlet's device page; everybody else gets its more-info dialog (the
  // device pages live under Settings, which only admins may open).
  _open(id, event) {
    if (event) event.preventDefault();
    const device = this._view.devices[id];
    if (!device) return;
    if (this._view.admin) {
      history.pushState(null, "", `/config/devices/device/${device.device_id}`);
      this.dispatchEvent(new CustomEvent("location-changed", { bubbles: true, composed: true }));
    } else if (device.entity_id) {
      this.dispatchEvent(
        new CustomEvent("hass-more-info", { bubbles: true, composed: true, detail: { entityId: device.entity_id } }),
      );
    }
  }

  _toggleMenu() {
    this.dispatchEvent(new CustomEvent("hass-toggle-menu", { bubbles: true, composed: true }));
  }

  static styles = css`
    :host {
      display: block;
      min-height: 100vh;
      background: var(--primary-background-color);
      color: var(--primary-text-color);
      font-family: var(--paper-font-body1_-_font-family, Roboto, "Noto Sans", "Noto Sans CJK SC", sans-serif);
    }
    .toolbar {
      display: flex;
      align-items: center;
      gap: 12px;
      height: var(--header-height, 56px);
      padding: 0 16px;
      background: var(--app-header-background-color, var(--primary-color));
      color: var(--app-header-text-color, var(--text-primary-color, #fff));
      position: sticky;
      top: 0;
      z-index: 2;
    }
    .title { font-size: 20px; flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
    .menu { background: none; border: 0; padding: 8px; margin-left: -8px; color: inherit; cursor: pointer; }
    .menu svg { width: 24px; height: 24px; fill: currentColor; display: block; }
    .networks { font: inherit; padding: 4px; border-radius: 4px; max-width: 50vw; }
    .content { padding: 8px; display: flex; flex-direction: column; gap: 8px; }
    ha-card {
      display: block;
      background: var(--ha-card-background, var(--card-background-color, #fff));
      border-radius: var(--ha-card-border-radius, 12px);
      border: var(--ha-card-border-width, 1px) solid var(--ha-card-border-color, var(--divider-color, #e0e0e0));
      padding: 8px 12px;
      box-sizing: border-box;
      min-width: 0;
    }
    .pad { padding: 16px; }
    h2 { font-size: 16px; font-weight: 500; margin: 4px 0 8px; }
    h3 { font-size: 13px; font-weight: 400; margin: 8px 0 2px; color: var(--secondary-text-color); }
    .summary { display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: center; }
    .tile { display: flex; flex-direction: column; }
    .tile span { font-size: 12px; color: var(--secondary-text-color); }
    .tile b { font-size: 18px; font-weight: 500; }
    .state-balanced b { color: var(--success-color, #43a047); }
    .state-not_balanced b, .state-disturbed b { color: var(--error-color, #db4437); }
    .actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
    .actions button {
      font: inherit; font-size: 13px; padding: 6px 12px; border-radius: 18px; cursor: pointer;
      border: 1px solid var(--primary-color); background: none; color: var(--primary-color);
    }
    .actions button[disabled] { opacity: 0.4; cursor: default; }
    .message { font-size: 12px; color: var(--secondary-text-color); }
    .counts, .legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 12px; }
    .counts i, .legend i, figcaption i, .dot {
      display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: -1px;
    }
    .columns { display: grid; grid-template-columns: minmax(0, 3fr) minmax(280px, 2fr); gap: 8px; align-items: start; }
    :host([narrow]) .columns { grid-template-columns: minmax(0, 1fr); }
    @media (max-width: 900px) { .columns { grid-template-columns: minmax(0, 1fr); } }
    .side { display: flex; flex-direction: column; gap: 8px; min-width: 0; }
    .scroll { overflow: auto; max-height: 70vh; }
    .scroll-x { overflow: auto; max-height: 60vh; }
    thead th { position: sticky; top: 0; background: var(--ha-card-background, var(--card-background-color, #fff)); }
    svg.graph { display: block; font-size: 11px; }
    .pipe { fill: none; stroke: var(--secondary-text-color); stroke-width: 1.4; opacity: 0.7; }
    .loop { fill: none; stroke: var(--secondary-text-color); stroke-width: 1.2; stroke-dasharray: 4 3; }
    .substation rect { fill: var(--primary-color); }
    .inlet { cursor: pointer; }
    .inlet text { fill: var(--primary-text-color); }
    .inlet .values { fill: var(--secondary-text-color); font-variant-numeric: tabular-nums; }
    .inlet:hover circle { stroke: var(--primary-text-color); stroke-width: 2; }
    .toggle { cursor: pointer; }
    .toggle rect { fill: var(--secondary-background-color, #eee); stroke: var(--divider-color); }
    .toggle text { fill: var(--primary-text-color); font-size: 11px; }
    .chart { margin: 0; }
    .chart svg { width: 100%; height: 120px; display: block; }
    .chart .axis { stroke: var(--divider-color, #ccc); }
    .chart .tick { fill: var(--secondary-text-color); font-size: 9px; }
    figcaption { display: flex; gap: 12px; font-size: 12px; color: var(--secondary-text-color); }
    .chart-empty { font-size: 12px; color: var(--secondary-text-color); padding: 8px 0; }
    table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
    th, td { padding: 4px 8px; text-align: right; white-space: nowrap; border-bottom: 1px solid var(--divider-color, #e0e0e0); }
    th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
    th { cursor: pointer; user-select: none; font-weight: 500; color: var(--secondary-text-color); }
    th.asc::after { content: " ▲"; }
    th.desc::after { content: " ▼"; }
    a { color: var(--primary-color); text-decoration: none; }
    .estimated { font-style: italic; color: var(--secondary-text-color); }
    td.estimated, td.rejected, .legend .estimated { cursor: help; }
    td.rejected { color: var(--error-color, #db4437); }
    svg .estimated { font-style: italic; }
    .note { font-size: 12px; }
    .archive-form { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: flex-end; margin-bottom: 8px; }
    .archive-form label { display: flex; flex-direction: column; font-size: 12px; color: var(--secondary-text-color); gap: 2px; }
    .archive-form select, .archive-form input { font: inherit; font-size: 13px; padding: 4px; border-radius: 4px; }
    .archive-form button {
      font: inherit; font-size: 13px; padding: 6px 12px; border-radius: 18px; cursor: pointer;
      border: 1px solid var(--primary-color); background: none; color: var(--primary-color);
    }
    .archive .chart { max-width: 760px; }
    .archive .chart svg { height: 160px; }
    .archive-table { max-height: 40vh; }
    .archive-table th:nth-child(2), .archive-table td:nth-child(2) { text-align: right; }
  `;
}

if (!customElements.get("heatbalance-panel")) customElements.define("heatbalance-panel", HeatbalancePanel);
