// The built-in web view (/ui/): read-only pages over this server's /v1 JSON. No build step, no outside requests.
// Pages (hash routes): #/dashboard?org=&year=, #/indicator?code=&org=&year=&g=month|day,
// #/ranking?scheme=&period=&kind=, #/sources. Text is built with DOM nodes, never from HTML strings.
"use strict";

(function () {
  const DEFAULT_ORG = document.querySelector('meta[name="scorecard-default-org"]').content;
  const app = document.getElementById("app");
  const charts = [];
  let serverYear = null;  // "this year" of the server's clock: the year of a dashboard asked without one

  const STATUS = { met: "达标", near: "接近", behind: "落后", no_data: "无数据" };
  const WARNING = {
    behind_target: "未达目标", not_reporting: "未报送", stale_source: "数据源超时",
    rating_followup_overdue: "差评整改逾期", item_overdue: "考评事项逾期",
  };
  // Every run status (shared/ingest/models.RUN_STATUSES; tests/browser/test_web_pages.py holds them equal).
  const RUN = {
    running: "运行中", succeeded: "成功", failed: "失败", skipped: "跳过", not_modified: "未变化",
    busy: "另一进程采集中", empty: "无数据行", abandoned: "已中断",
  };
  const SCORE = { complete: "评分完整", incomplete: "评分不完整", missing: "尚无评分" };
  const KIND = { county: "旗县区", department: "部门" };
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939"];

  // ---- small helpers -------------------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function num(v, digits) {
    if (v === null || v === undefined) return "—";
    const d = digits === undefined ? (Math.abs(v) >= 1000 ? 0 : Math.abs(v) >= 100 ? 1 : 2) : digits;
    return Number(v).toLocaleString("zh-CN", { maximumFractionDigits: d });
  }
  function withUnit(v, unit) {
    if (v === null || v === undefined) return "—";
    return unit === "%" ? num(v, 1) + "%" : num(v) + (unit ? " " + unit : "");
  }
  function targetText(t, unit) {
    if (!t) return "无目标";
    if (t.number === null || t.number === undefined) return t.text || "无目标";
    const cmp = { ">=": "≥", "<=": "≤", ">": "＞", "<": "＜" }[t.comparator] || t.comparator || "";
    return cmp + withUnit(t.number, unit).replace(" ", "");
  }
  function pct(v) { return v === null || v === undefined ? "—" : num(v * 100, 1) + "%"; }
  function statusClass(s) { return s ? "st-" + s : "st-none"; }
  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
    return q.toString();
  }
  function isoDay(d) { return d.toISOString().slice(0, 10); }
  function addDays(iso, n) {
    const d = new Date(iso + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return isoDay(d);
  }
  function ago(iso) {
    if (!iso) return "—";
    const minutes = Math.round((Date.now() - new Date(iso).getTime()) / 60000);
    if (minutes < 1) return "刚刚";
    if (minutes < 60) return minutes + " 分钟前";
    if (minutes < 48 * 60) return Math.round(minutes / 60) + " 小时前";
    return Math.round(minutes / 1440) + " 天前";
  }
  function time(iso) {
    if (!iso) return "—";
    // The product's time (北京时间), whatever zone the browser runs in.
    return new Date(iso).toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
  }

  // The page being shown: a reply that arrives after the user moved on (a slow city dashboard, then a street) is
  // dropped, never drawn over the page asked for last.
  let currentView = {};
  class Stale extends Error {}

  class HttpError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || "HTTP " + status);
      this.status = status;
      this.code = (body && body.error && body.error.code) || "";
    }
  }

  // The API's messages are English (they are for integrators): the page says what happened in Chinese, by the
  // error's code, and shows the API's own words beneath for whoever reports the problem.
  const ERROR_TEXT = {
    not_found: "未找到所请求的单位、指标或方案，请检查链接中的代码",
    invalid_input: "请求参数无效，请检查链接中的代码、年份或期间",
    unauthorized: "需要有效的 API 密钥",
    forbidden: "此密钥无权查看该内容",
    database_unavailable: "数据库暂时无法连接，请稍后刷新重试",
    busy: "服务器繁忙，请稍后刷新重试",
    timeout: "查询用时过长，请缩小范围后重试",
    internal_error: "服务器内部错误，已记入日志，请联系管理员",
  };
  function errorText(err) {
    if (!(err instanceof HttpError)) return "无法连接服务器，请检查网络后刷新重试";
    return ERROR_TEXT[err.code] || "服务器返回错误（HTTP " + err.status + "）";
  }

  async function getJSON(path) {
    const headers = { Accept: "application/json" };
    const key = sessionStorage.getItem("scorecard-key");
    if (key) headers.Authorization = "Bearer " + key;
    const view = currentView;
    const r = await fetch(path, { headers, credentials: "same-origin" });
    const body = await r.json().catch(() => null);
    if (view !== currentView) throw new Stale();
    if (!r.ok) throw new HttpError(r.status, body);
    return body;
  }

  const dashboards = new Map();  // the dashboard JSON of this page view, per (org, year): one request each
  function dashboard(org, year) {
    const key = org + "|" + (year || "");
    if (!dashboards.has(key)) dashboards.set(key, getJSON("/v1/dashboard?" + query({ org, year })));
    return dashboards.get(key);
  }

  function clearCharts() {
    while (charts.length) charts.pop().dispose();
  }
  function chart(node, option) {
    const c = echarts.init(node, null, { renderer: "canvas" });
    c.setOption(option);
    charts.push(c);
    return c;
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));

  function showError(err) {
    clearCharts();
    if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
      const input = el("input", { type: "password", placeholder: "API 密钥", autocomplete: "off" });
      app.replaceChildren(el("form", {
        class: "keyform",
        onsubmit: (e) => { e.preventDefault(); sessionStorage.setItem("scorecard-key", input.value.trim()); route(); },
      }, el("h1", { text: "需要 API 密钥" }),
      el("p", { class: "note", text: "本服务器的读取接口需要密钥（任一角色）。密钥只保存在本浏览器标签页中。" }),
      input, el("button", { type: "submit", text: "确定" })));
      return;
    }
    // The way back re-routes itself when the address already is the default dashboard (a link to the hash in the
    // address bar would do nothing).
    const again = (e) => { if (location.hash === "#/dashboard" || location.hash === "") { e.preventDefault(); route(); } };
    app.replaceChildren(el("p", { class: "error", text: "加载失败：" + errorText(err) }),
      el("p", { class: "note detail", text: "服务器信息：" + err.message }),
      el("p", { class: "actions" }, el("button", { type: "button", class: "retry", onclick: () => route(), text: "重试" }),
        " ", el("a", { href: "#/dashboard", onclick: again, text: "返回默认辖区的看板" })));
  }

  function header(title, sub, ...controls) {
    return el("div", { class: "head" }, el("h1", { text: title }), sub ? el("span", { class: "sub", text: sub }) : null,
      el("div", { class: "controls" }, ...controls));
  }
  function select(label, value, options, onchange) {
    const s = el("select", { "aria-label": label, onchange: (e) => onchange(e.target.value) },
      options.map(([v, text]) => el("option", { value: v, selected: String(v) === String(value), text })));
    return el("label", {}, label + " ", s);
  }
  function go(page, params) { location.hash = "#/" + page + "?" + query(params); }

  // ---- charts ----------------------------------------------------------------------------------------------------
  function lineOption(categories, series, unit, opts) {
    const o = opts || {};
    return {
      animation: false,
      color: COLORS,
      grid: { left: 48, right: 16, top: o.legend ? 56 : 28, bottom: 28 },
      tooltip: { trigger: "axis", valueFormatter: (v) => withUnit(v, unit) },
      legend: o.legend ? { type: "scroll", top: 0, textStyle: { fontSize: 12 } } : undefined,
      xAxis: { type: "category", data: categories, axisLabel: { fontSize: 11, formatter: o.xFormat } },
      // Room above and below the values and the target: a target at the edge of the values stays visible.
      yAxis: { type: "value", scale: true, name: unit || "", axisLabel: { fontSize: 11 }, boundaryGap: ["15%", "15%"] },
      series,
    };
  }
  function valueSeries(name, data, extra) {
    return Object.assign({ name, type: "line", data, connectNulls: false, symbolSize: 6, showSymbol: true }, extra);
  }
  function targetSeries(data) {
    return {
      name: "目标", type: "line", data, symbol: "none", step: "middle",
      lineStyle: { type: "dashed", color: "#c62828", width: 1.5 }, itemStyle: { color: "#c62828" },
    };
  }

  // ---- 看板 -------------------------------------------------------------------------------------------------------
  function indicatorColumns(d) {
    const seen = new Map();
    for (const row of [d.jurisdiction, ...d.units]) {
      for (const c of row.indicators) if (!seen.has(c.indicator)) seen.set(c.indicator, c);
    }
    return [...seen.values()];
  }

  function scoreText(score) {
    if (!score) return "—";
    if (score.total === null) return SCORE[score.status] || score.status;
    return num(score.total, 2) + (score.rank ? "（第" + score.rank + "/" + score.ranked + "）" : "");
  }

  function matrix(d, org, year) {
    const cols = indicatorColumns(d);
    const detail = el("p", { class: "note cell-detail", "aria-live": "polite", text: "点选或用 Tab 键选中单元格，在此查看目标、完成度与报送情况。" });
    const tell = (tip) => { detail.textContent = tip.replace(/\n/g, "；"); };
    // A header shows the jurisdiction's own target; a column only its units have (包头市 over 青山区's plan) says
    // where theirs are, rather than show the first unit's as if it held for every row.
    const ownIndicators = new Set(d.jurisdiction.indicators.map((c) => c.indicator));
    const head = el("tr", {}, el("th", { class: "unit", text: "单位" }), el("th", { class: "score", text: "得分（名次）" }),
      cols.map((c) => el("th", { class: "ind", title: c.name + "（" + c.indicator + "）" },
        el("a", { href: "#/indicator?" + query({ code: c.indicator, org, year }) }, c.name),
        el("span", { class: "tgt", text: ownIndicators.has(c.indicator) ? targetText(c.target, c.unit) : "目标见各单位" }))));
    const rows = [d.jurisdiction, ...d.units].map((u, i) => {
      const own = i === 0;
      const cells = new Map(u.indicators.map((c) => [c.indicator, c]));
      const name = own ? el("span", {}, u.name, el("br"), el("span", { class: "note", text: "（本级合计）" }))
        : el("a", { href: "#/dashboard?" + query({ org: u.code, year }), title: "查看" + u.name + "的看板" }, u.name);
      return el("tr", { class: own ? "own" : "", "data-org": u.code },
        el("td", { class: "unit" }, name),
        el("td", { class: "score", title: u.score ? u.score.scheme_name + " " + u.score.period : "" }, scoreText(u.score)),
        cols.map((col) => {
          const c = cells.get(col.indicator);
          if (!c) return el("td", { class: "cell na", title: u.name + "没有此指标（不在其规划内）", text: "—" });
          const tip = [u.name + " · " + c.name, "本年数值：" + withUnit(c.value, c.unit), "目标：" + targetText(c.target, c.unit),
            "完成度：" + pct(c.achievement), "状态：" + (STATUS[c.status] || "无目标"),
            "报送单位：" + c.units_reporting + " / " + c.units_expected].join("\n");
          // Focusable, and told in the line under the table on focus or tap: a tooltip alone reaches neither a
          // keyboard nor a touch screen.
          return el("td", {
            class: "cell " + statusClass(c.status), title: tip, tabindex: 0, "aria-label": tip.replace(/\n/g, "；"),
            "data-indicator": c.indicator, "data-status": c.status || "none",
            onfocus: () => tell(tip), onclick: () => tell(tip),
          }, withUnit(c.value, c.unit));
        }));
    });
    // Its columns keep their width on a narrow screen: the table scrolls inside its box, not the whole page
    // (set through CSSOM: the page's CSP refuses style attributes).
    const table = el("table", { class: "matrix" }, el("thead", {}, head), el("tbody", {}, rows));
    table.style.minWidth = 118 + 96 + 72 * cols.length + "px";
    return [detail, el("div", { class: "scroll" }, table)];  // above: in view wherever the table scrolls to
  }

  function legend(note) {
    return el("div", { class: "legend" }, "颜色：",
      Object.entries(STATUS).map(([k, v]) => el("span", { class: "sw st-" + k, text: v })),
      el("span", { class: "sw st-none", text: "无目标" }),
      el("span", { text: note || "（单元格为本年数值：流量指标为累计，存量指标为最新值；悬停、点选或用 Tab 键选中查看目标、完成度与报送情况）" }));
  }

  function trendCards(d) {
    const list = d.jurisdiction.indicators.filter((c) =>
      c.trend.some((p) => p.value !== null) || c.months.some((m) => m.value !== null));
    if (!d.jurisdiction.indicators.length) {
      return [el("p", { class: "note", text: d.org.name + "本级没有规划指标；其下级单位的指标见上表。" })];
    }
    if (!list.length) return [el("p", { class: "note", text: "本年尚无数据。" })];
    const grid = el("div", { class: "charts" });
    const pending = [];
    for (const c of list) {
      const box = el("div", { class: "chart", "data-indicator": c.indicator });
      const hasDays = c.trend.some((p) => p.value !== null);
      const draw = (mode) => {
        const existing = echarts.getInstanceByDom(box);
        if (existing) { existing.dispose(); charts.splice(charts.indexOf(existing), 1); }
        const t = c.target && c.target.number !== null ? c.target.number : null;
        if (mode === "day") {
          chart(box, lineOption(c.trend.map((p) => p.date.slice(5)),
            [valueSeries(d.org.name, c.trend.map((p) => p.value)), targetSeries(c.trend.map(() => t))], c.unit));
        } else {
          chart(box, lineOption(c.months.map((m) => Number(m.period.slice(5)) + "月"),
            [valueSeries(d.org.name, c.months.map((m) => m.value)), targetSeries(c.months.map((m) => m.target))], c.unit));
        }
        for (const b of tabs.children) b.classList.toggle("on", b.dataset.mode === mode);
      };
      const tabs = el("div", { class: "tabs" },
        el("button", { type: "button", "data-mode": "day", onclick: () => draw("day"), text: "近30天" }),
        el("button", { type: "button", "data-mode": "month", onclick: () => draw("month"), text: "本年各月" }));
      grid.append(el("div", { class: "chart-card" },
        el("div", { class: "title" },
          el("a", { href: "#/indicator?" + query({ code: c.indicator, org: d.org.code, year: d.year }) }, c.name),
          el("span", { class: "note", text: "目标 " + targetText(c.target, c.unit) }),
          el("span", { class: "badge " + statusClass(c.status), text: STATUS[c.status] || "无目标" })),
        tabs, box));
      pending.push(() => draw(hasDays ? "day" : "month"));
    }
    return [grid, pending];
  }

  // A warning of subject type "ratings" stands for details.count overdue 差评 beyond those listed one by one.
  const warningCount = (list) => list.reduce((n, w) => n + (w.subject.type === "ratings" ? w.details.count : 1), 0);

  function warningTable(d) {
    if (!d.warnings.length) return el("p", { class: "note", text: "没有预警。" });
    const groups = new Map(Object.keys(WARNING).map((k) => [k, []]));
    for (const w of d.warnings) {
      if (!groups.has(w.kind)) groups.set(w.kind, []);
      groups.get(w.kind).push(w);
    }
    // One table per kind; a long list (考评事项逾期 runs to dozens) starts folded.
    return el("div", { class: "warnings" }, [...groups.entries()].filter(([, list]) => list.length).map(([kind, list]) =>
      el("details", { class: "wgroup", "data-kind": kind, open: list.length <= 8 },
        el("summary", {}, el("span", { class: "badge k-" + kind, text: WARNING[kind] || kind }), " " + warningCount(list) + " 条"),
        el("div", { class: "scroll" }, el("table", { class: "warnings" },
          el("colgroup", {}, el("col", { class: "w-unit" }), el("col", { class: "w-subject" }), el("col", { class: "w-since" }), el("col")),
          el("thead", {}, el("tr", {}, ["单位", "对象", "起始", "说明"].map((h) => el("th", { text: h })))),
          el("tbody", {}, list.map((w) => el("tr", { "data-kind": w.kind, "data-unit": w.unit },
            el("td", { text: w.unit_name }),
            el("td", { class: "subject", title: w.subject.name, text: w.subject.name }),
            el("td", { text: w.since ? w.since.slice(0, 10) : "—" }),
            el("td", { text: w.message })))))))));
  }

  function summary(d) {
    const counts = { met: 0, near: 0, behind: 0, no_data: 0 };
    let untargeted = 0;  // a value but no target (status null): counted apart, so the cards add up to the indicators
    for (const c of d.jurisdiction.indicators) if (c.status in counts) counts[c.status] += 1; else untargeted += 1;
    const byKind = {};
    for (const w of d.warnings) byKind[w.kind] = (byKind[w.kind] || 0) + warningCount([w]);
    const s = d.jurisdiction.score;
    return el("div", { class: "cards" },
      el("div", { class: "card" }, el("div", { class: "label", text: "本级考评得分" }),
        el("div", { class: "big", text: s && s.total !== null ? num(s.total, 2) : "—" }),
        el("div", { class: "small", text: s ? s.period + " · " + (s.rank ? "第 " + s.rank + " / " + s.ranked + " 名" : SCORE[s.status] || s.status) : "不在考评范围" })),
      Object.entries(counts).map(([k, n]) => el("div", { class: "card" },
        el("div", { class: "label", text: "指标" + STATUS[k] }), el("div", { class: "big " + "", text: String(n) }),
        el("div", { class: "small" }, el("span", { class: "sw badge st-" + k, text: STATUS[k] })))),
      el("div", { class: "card", "data-card": "untargeted" }, el("div", { class: "label", text: "指标无目标" }),
        el("div", { class: "big", text: String(untargeted) }),
        el("div", { class: "small" }, el("span", { class: "sw badge st-none", text: "无目标" }))),
      el("div", { class: "card" }, el("div", { class: "label", text: "预警" }),
        el("div", { class: "big", text: String(warningCount(d.warnings)) }),
        el("div", { class: "small", text: Object.entries(byKind).map(([k, n]) => (WARNING[k] || k) + " " + n).join("，") || "无" })));
  }

  // Every year from the first a plan covers (青山区's baseline 2021, hence 2020 as the floor) to this year — the
  // server's, or the browser's in 北京时间 when the page was opened on a given year — and the year shown.
  const FIRST_YEAR = 2020;
  function yearChoices(shown) {
    const browserYear = Number(new Intl.DateTimeFormat("en", { timeZone: "Asia/Shanghai", year: "numeric" }).format(new Date()));
    const last = Math.max(serverYear || browserYear, shown);
    const years = [];
    for (let y = last; y >= Math.min(FIRST_YEAR, shown); y -= 1) years.push(y);
    return years;
  }

  async function pageDashboard(p) {
    const org = p.get("org") || DEFAULT_ORG;
    const year = p.get("year") || "";
    const d = await dashboard(org, year);
    if (!year) serverYear = d.year;
    const years = yearChoices(d.year);
    const back = org !== DEFAULT_ORG ? el("a", { href: "#/dashboard", text: "返回默认辖区" }) : null;
    const [cards, pending] = trendCards(d);
    app.replaceChildren(
      header(d.org.name + " · " + d.year + " 年数字政府建设看板", "数据截至 " + d.as_of,
        back, select("年度", d.year, years.map((y) => [y, y + " 年"]), (y) => go("dashboard", { org, year: y }))),
      summary(d),
      el("h2", { text: "各单位关键指标（" + d.units.length + " 个下级单位）" }), legend(), ...matrix(d, org, d.year),
      el("h2", { text: "趋势（本级，虚线为目标）" }), cards,
      el("h2", { text: "预警（" + warningCount(d.warnings) + "）" }), warningTable(d));
    (pending || []).forEach((f) => f());
  }

  // ---- 指标 -------------------------------------------------------------------------------------------------------
  async function pageIndicator(p) {
    const org = p.get("org") || DEFAULT_ORG;
    const d = await dashboard(org, p.get("year") || "");
    const cols = indicatorColumns(d);
    const code = p.get("code") || (cols.find((c) => c.status && c.status !== "no_data") || cols[0] || {}).indicator;
    if (!code) { app.replaceChildren(el("p", { class: "note", text: "该单位没有关键指标。" })); return; }
    const g = p.get("g") === "day" ? "day" : "month";
    const from = g === "day" ? addDays(d.as_of, -29) : d.year + "-01-01";
    const base = { indicator: code, org, from, to: d.as_of, granularity: g };
    const [children, own] = await Promise.all([
      getJSON("/v1/values?" + query(Object.assign({ children: true }, base))),
      getJSON("/v1/values?" + query(base)),
    ]);
    const periods = own.values.map((v) => v.period);
    const info = own.values[0] || children.values[0];
    const unit = info ? info.unit : null;
    const name = info ? info.indicator_name : code;
    const byOrg = new Map();
    for (const v of children.values) {
      if (!byOrg.has(v.org)) byOrg.set(v.org, { name: v.org_name, values: new Map() });
      byOrg.get(v.org).values.set(v.period, v);
    }
    const label = (period) => (g === "day" ? period.slice(5) : Number(period.slice(5)) + "月");
    const targetOf = (v) => (v && v.target && typeof v.target.number === "number" ? v.target.number : null);
    // The line is the units' target where they have one, else the jurisdiction's own (青山区's ≥1,270 个 when its
    // streets have none).
    const ownByPeriod = new Map(own.values.map((v) => [v.period, v]));
    const childTarget = periods.map((period) => {
      for (const u of byOrg.values()) { const t = targetOf(u.values.get(period)); if (t !== null) return t; }
      return targetOf(ownByPeriod.get(period));
    });
    const shownTarget = (children.values.find((v) => v.target) || own.values.find((v) => v.target) || {}).target || null;
    const series = [...byOrg.values()].map((u) => valueSeries(u.name, periods.map((pp) => (u.values.get(pp) || {}).value ?? null),
      { symbolSize: 5, lineStyle: { width: 1.5 } }));
    series.push(valueSeries(d.org.name + "（本级）", own.values.map((v) => v.value),
      { lineStyle: { width: 3, color: "#000" }, itemStyle: { color: "#000" }, symbolSize: 7 }));
    series.push(targetSeries(childTarget));
    const box = el("div", { class: "chart tall", "data-indicator": code });
    const table = el("div", { class: "scroll" }, el("table", { class: "series" },
      el("thead", {}, el("tr", {}, el("th", { text: "单位" }), periods.map((pp) => el("th", { class: "num", text: label(pp) })))),
      el("tbody", {},
        [...byOrg.entries()].map(([c, u]) => el("tr", { "data-org": c }, el("td", {}, el("a", { href: "#/indicator?" + query({ code, org: c, year: d.year, g }) }, u.name)),
          periods.map((pp) => { const v = u.values.get(pp); return el("td", { class: "num " + statusClass(v && v.status), title: v ? "目标：" + targetText(v.target, unit) + "，完成度：" + pct(v.achievement) : "", text: withUnit(v && v.value, unit) }); }))),
        el("tr", { class: "own" }, el("td", { text: d.org.name + "（本级）" }),
          own.values.map((v) => el("td", { class: "num " + statusClass(v.status), text: withUnit(v.value, unit) }))))));
    app.replaceChildren(
      header(name + " · " + d.org.name + "下级单位", (g === "day" ? "近30天（" : d.year + " 年各月（") + from + " 至 " + d.as_of + "）",
        select("指标", code, cols.map((c) => [c.indicator, c.name]), (v) => go("indicator", { code: v, org, year: d.year, g })),
        el("span", { class: "tabs" },
          el("button", { type: "button", class: g === "month" ? "on" : "", text: "按月", onclick: () => go("indicator", { code, org, year: d.year, g: "month" }) }),
          el("button", { type: "button", class: g === "day" ? "on" : "", text: "按日", onclick: () => go("indicator", { code, org, year: d.year, g: "day" }) })),
        el("a", { href: "#/dashboard?" + query({ org, year: d.year }), text: "返回看板" })),
      el("div", { class: "chart-card" }, box),
      el("h2", { text: "数值（颜色为状态，目标 " + (info ? targetText(shownTarget, unit) : "—") + "）" }),
      legend("（悬停查看目标与完成度）"), table);
    chart(box, lineOption(periods.map(label), series, unit, { legend: true }));
  }

  // ---- 通报排名 ----------------------------------------------------------------------------------------------------
  async function pageRanking(p) {
    const schemes = await getJSON("/v1/schemes");
    if (!schemes.length) { app.replaceChildren(header("通报排名"), el("p", { class: "note", text: "尚无考评办法。" })); return; }
    const scheme = schemes.find((s) => String(s.id) === p.get("scheme")) || schemes[schemes.length - 1];
    const period = p.get("period") || scheme.year + "H1";
    const kind = p.get("kind") === "department" ? "department" : "county";
    const params = { scheme: scheme.id, period, kind };
    const r = await getJSON("/v1/rankings?" + query(params));
    const methods = r.methods || [];
    const set = (change) => go("ranking", Object.assign({}, params, change));
    const rows = [...r.rows].sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9));
    // A year's rows carry each half-year's total (年度 = (上半年 + 下半年) ÷ 2): shown beside the total.
    const halves = [...new Set(rows.flatMap((row) => Object.keys(row.halves || {})))].sort();
    const halfName = (h) => (h.endsWith("H1") ? "上半年" : "下半年");
    app.replaceChildren(
      header("通报排名 · " + scheme.name, scheme.jurisdiction_name + " · " + KIND[kind],
        select("办法", scheme.id, schemes.map((s) => [s.id, s.name]), (v) => set({ scheme: v })),
        select("期间", period, [[scheme.year + "H1", scheme.year + " 年上半年"], [scheme.year + "H2", scheme.year + " 年下半年"], [String(scheme.year), scheme.year + " 年全年"]], (v) => set({ period: v })),
        select("类别", kind, Object.entries(KIND), (v) => set({ kind: v })),
        el("a", { class: "download", href: "/v1/rankings?" + query(Object.assign({}, params, { format: "xlsx" })), download: "", text: "下载通报（XLSX）" })),
      el("h2", { text: "排名（" + rows.length + " 个单位）" }),
      el("div", { class: "scroll" }, el("table", { class: "ranking" },
        el("thead", {}, el("tr", {}, el("th", { class: "num", text: "名次" }), el("th", { text: "单位" }), el("th", { class: "num", text: "总分" }),
          halves.map((h) => el("th", { class: "num half", text: halfName(h) })),
          methods.map((m) => el("th", { class: "num", text: m.name + "（" + num(m.weight * 100, 0) + "%）" })),
          el("th", { text: "状态" }), el("th", { text: "说明" }))),
        el("tbody", {}, rows.map((row) => el("tr", { "data-org": row.org },
          el("td", { class: "num", text: row.rank ?? "—" }), el("td", { text: row.org_name }),
          el("td", { class: "num", text: num(row.total, 2) }),
          halves.map((h) => el("td", { class: "num half", text: num((row.halves || {})[h], 2) })),
          methods.map((m) => el("td", { class: "num", text: num(row.by_method[m.method], 2) })),
          el("td", { text: SCORE[row.status] || row.status }),
          // The API's Chinese wording of the reasons (shared/scores/wording.py); its English where it has none.
          el("td", { class: "note", text: (row.reasons_zh && row.reasons_zh.length ? row.reasons_zh : row.reasons).join("；") })))))),
      r.rounding ? el("p", { class: "note rounding", text: "注：" + r.rounding }) : "");
  }

  // ---- 数据源 ------------------------------------------------------------------------------------------------------
  // A run's remark in Chinese, from its status and counts; the collector's own message (English) is its tooltip:
  // it says exactly what went wrong (a timeout, a changed column, …). A failure is told by what it met.
  const FAILURE_TEXT = {
    fetch: "无法从平台取得导出文件（网络、超时或平台返回错误），之后会重试；详情见提示",
    export: "导出文件不符合约定的格式（列名、编码、行数或大小），未写入任何数据；请平台核对导出，详情见提示",
    config: "数据源配置（sources.yaml）与系统数据不符，未写入任何数据；请管理员按提示修改配置",
    disk: "采集服务器无法写入临时文件（磁盘空间或权限），未写入任何数据",
    database: "数据库出错或无法连接，未写入任何数据，之后会重试",
    internal: "采集程序内部错误，未写入任何数据；采集日志中有详情",
  };
  const RUN_NOTE = {
    running: "正在运行",
    skipped: "与已采集的导出文件相同，未作改动",
    not_modified: "平台答复导出未变化（HTTP 304），未作改动",
    busy: "另一采集进程正在采集此数据源，本次未运行",
    empty: "导出只有表头、没有数据行，未写入；如平台当天有数据，请其重新导出",
    abandoned: "运行未完成即中断（进程被终止或机器停止），未保留任何数据，之后会重新采集",
  };
  function runNote(run) {
    if (run.status === "succeeded") {
      // The rows skipped (blank, notes, 合计, exact repeats) are said too: without them the counts look short.
      const skipped = run.rows_skipped ? "、跳过 " + run.rows_skipped + " 行（空行、说明、合计或重复行）" : "";
      return "接收 " + run.rows_accepted + " 行、拒收 " + run.rows_rejected + " 行" + skipped + "；数据新增 " + run.inserted
        + "、更正 " + run.updated + "、未变 " + run.unchanged;
    }
    if (run.status === "failed") return "采集失败：" + (FAILURE_TEXT[run.failure] || run.message || "");
    return RUN_NOTE[run.status] || run.message || "";
  }

  async function pageSources() {
    const [runs, d] = await Promise.all([getJSON("/v1/ingest-runs?limit=200"), dashboard(DEFAULT_ORG, "").catch(() => null)]);
    const stale = new Map((d ? d.warnings : []).filter((w) => w.kind === "stale_source").map((w) => [w.subject.code, w]));
    const sources = new Map();
    for (const run of runs) {
      if (!sources.has(run.source)) sources.set(run.source, { last: run, good: null, failed: 0 });
      const s = sources.get(run.source);
      if (!s.good && run.good) s.good = run;
      if (run.status === "failed") s.failed += 1;
    }
    for (const code of stale.keys()) if (!sources.has(code)) sources.set(code, { last: null, good: null, failed: 0 });
    const summaryRows = [...sources.entries()].map(([code, s]) => {
      const w = stale.get(code);
      return el("tr", { "data-source": code },
        el("td", { text: code }),
        el("td", { text: s.last ? time(s.last.started_at) : "从未运行" }),
        el("td", {}, s.last ? el("span", { class: "badge r-" + s.last.status, text: RUN[s.last.status] || s.last.status }) : "—"),
        el("td", { text: s.good ? time(s.good.finished_at || s.good.started_at) + "（" + ago(s.good.finished_at || s.good.started_at) + "）" : "无" }),
        el("td", {}, el("span", { class: "badge " + (w ? "r-stale" : "r-fresh"), text: w ? "超时" : "正常" })),
        el("td", { class: "num", text: s.last ? s.last.rows_read + " / " + s.last.rows_accepted + " / " + s.last.rows_rejected : "—" }),
        el("td", { class: "num", text: String(s.failed) }),
        el("td", { class: "note", text: w ? w.message : "" }));
    });
    const runRows = runs.map((run) => el("tr", { "data-run": run.id },
      el("td", { class: "num", text: run.id }), el("td", { text: run.source }),
      el("td", { text: run.for_date || "—" }), el("td", { text: time(run.started_at) }),
      el("td", {}, el("span", { class: "badge r-" + run.status, text: RUN[run.status] || run.status })),
      el("td", { class: "num", text: run.rows_read }), el("td", { class: "num", text: run.rows_accepted }),
      el("td", { class: "num", text: run.rows_rejected }),
      el("td", { class: "num", text: run.inserted + " / " + run.updated + " / " + run.unchanged }),
      el("td", {}, run.errors.length || run.warnings.length
        ? el("details", {}, el("summary", { text: run.errors.length + " 个错误，" + run.warnings.length + " 个提示" }),
          el("pre", { text: [...run.errors, ...run.warnings].slice(0, 50).map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join("\n") }))
        : el("span", { class: "note", text: runNote(run), title: run.message || "" }))));
    app.replaceChildren(
      header("数据源", "最近 " + runs.length + " 次采集运行"),
      el("h2", { text: "各数据源" }),
      sources.size ? el("div", { class: "scroll" }, el("table", { class: "sources" },
        el("thead", {}, el("tr", {}, ["数据源", "最近运行", "状态", "最近成功", "时效", "读入 / 接收 / 拒收", "失败次数", "说明"].map((h) => el("th", { text: h })))),
        el("tbody", {}, summaryRows))) : el("p", { class: "note", text: "尚无采集运行。" }),
      el("h2", { text: "最近运行" }),
      el("div", { class: "scroll" }, el("table", { class: "runs" },
        el("thead", {}, el("tr", {}, ["编号", "数据源", "数据日期", "开始时间", "状态", "读入", "接收", "拒收", "新增 / 更正 / 未变", "错误与提示"].map((h) => el("th", { text: h })))),
        el("tbody", {}, runRows))));
  }

  // ---- router ------------------------------------------------------------------------------------------------------
  // 看板 and 指标 in the top bar stay on the unit and year being looked at (from a city's dashboard, 指标 is the
  // city's indicators, not the default jurisdiction's).
  function keepUnitInNav(params) {
    const here = { org: params.get("org"), year: params.get("year") };
    for (const a of document.querySelectorAll("header nav a[data-nav='dashboard'], header nav a[data-nav='indicator'], header a.brand")) {
      const page = a.dataset.nav || "dashboard";
      const q = query(a.classList.contains("brand") ? { year: here.year } : here);
      a.setAttribute("href", "#/" + page + (q ? "?" + q : ""));
    }
  }

  const PAGES = { dashboard: pageDashboard, indicator: pageIndicator, ranking: pageRanking, sources: pageSources };

  async function route() {
    const hash = location.hash.replace(/^#\/?/, "");
    const [name, qs] = hash.split("?");
    const page = PAGES[name] ? name : "dashboard";
    for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.dataset.nav === page);
    const params = new URLSearchParams(qs || "");
    keepUnitInNav(params);
    clearCharts();
    dashboards.clear();
    window.scrollTo(0, 0);
    const view = currentView = {};
    app.setAttribute("aria-busy", "true");
    app.dataset.page = page;
    delete app.dataset.ready;
    try {
      await PAGES[page](params);
    } catch (err) {
      if (err instanceof Stale) return;  // a later route() draws its own page
      showError(err);
    }
    if (view !== currentView) return;
    app.removeAttribute("aria-busy");
    app.dataset.ready = page;
  }
  window.addEventListener("hashchange", route);
  // /ui/?org=…&year=… (a link written as a query, not a hash route) opens that dashboard rather than the default.
  const asked = new URLSearchParams(location.search);
  if (!location.hash && asked.get("org")) {
    history.replaceState(null, "", location.pathname + "#/dashboard?" + query({ org: asked.get("org"), year: asked.get("year") }));
  }
  route();
})();
