/* The docs site: one page, routed by the URL's hash, over window.DOCS (docs_data.js). */
(function () {
  "use strict";
  var D = window.DOCS;
  var main = document.getElementById("main");
  var side = document.getElementById("sidebar");
  if (!D) { main.textContent = "docs_data.js is missing: run 'runner docs generate'."; return; }
  var N = D.nodes, T = D.tests, L = D.lineage, U = D.unit_tests || {};

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function link(id, col) {
    var n = N[id];
    if (!n) return esc(col != null ? id + "." + col : id);
    if (col != null) return '<a href="#!/column/' + encodeURIComponent(id) + "/" +
      encodeURIComponent(col) + '">' + esc(n.relation + "." + col) + "</a>";
    return '<a href="#!/node/' + encodeURIComponent(id) + '">' + esc(n.relation) + "</a>";
  }
  function badge(text, cls) { return '<span class="badge ' + esc(cls || text) + '">' + esc(text) + "</span>"; }
  function bytes(b) {
    if (b == null) return "";
    var u = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (b >= 1024 && i < 4) { b /= 1024; i++; }
    return (i ? b.toFixed(1) : b) + " " + u[i];
  }
  var ORDER = {source: 0, seed: 1, model: 2};
  var ids = Object.keys(N).sort(function (a, b) {
    return (ORDER[N[a].kind] - ORDER[N[b].kind]) || (N[a].relation < N[b].relation ? -1 : 1);
  });

  /* -- sidebar: nodes by kind and schema ------------------------------------------ */
  (function () {
    var html = "", last = "";
    ids.forEach(function (id) {
      var n = N[id], group = n.kind + "s · " + n.relation.split(".")[0];
      if (group !== last) { html += "<h4>" + esc(group) + "</h4>"; last = group; }
      html += '<a data-id="' + esc(id) + '" href="#!/node/' + encodeURIComponent(id) + '" title="' +
        esc(n.relation) + '">' + esc(n.relation.split(".").slice(1).join(".")) + "</a>";
    });
    side.innerHTML = html;
    document.getElementById("home").textContent = D.project + " docs";
    document.title = D.project + " docs";
  })();

  /* -- column-level lineage: a walk over the edges computed at generate time ---------- */
  function upstream(id, col) {
    var seen = {}, queue = [[id, col, "value", 0]], out = [];
    while (queue.length) {
      var item = queue.shift(), key = item[0] + "\u0000" + item[1];
      var before = seen[key];
      if (before && (before.kind === "value" || item[2] === "filter")) continue;
      if (!before) { before = seen[key] = {id: item[0], col: item[1], kind: item[2], depth: item[3]}; out.push(before); }
      before.kind = item[2];
      var edges = (L[item[0]] || {})[item[1]] || [];
      for (var i = 0; i < edges.length; i++) {
        var e = edges[i];
        queue.push([e[0], e[1], item[2] === "filter" || e[2] === "filter" ? "filter" : "value", item[3] + 1]);
      }
    }
    return out.slice(1);
  }
  var downIndex = null;
  function downstream(id, col) {
    if (!downIndex) {
      downIndex = {};
      Object.keys(L).forEach(function (nid) {
        Object.keys(L[nid]).forEach(function (c) {
          L[nid][c].forEach(function (e) {
            var k = e[0] + "\u0000" + e[1];
            (downIndex[k] = downIndex[k] || []).push([nid, c, e[2]]);
          });
        });
      });
    }
    return downIndex[id + "\u0000" + col] || [];
  }

  /* -- a layered graph in SVG ---------------------------------------------------------- */
  function drawGraph(nodes, edges, focus) {
    var byId = {}, parents = {}, layer = {};
    nodes.forEach(function (n) { byId[n.id] = n; parents[n.id] = []; });
    edges = edges.filter(function (e) { return byId[e[0]] && byId[e[1]]; });
    edges.forEach(function (e) { parents[e[1]].push(e[0]); });
    function depth(id, stack) {
      if (layer[id] != null) return layer[id];
      if (stack[id]) return 0;
      stack[id] = true;
      var d = 0;
      parents[id].forEach(function (p) { d = Math.max(d, depth(p, stack) + 1); });
      stack[id] = false;
      return (layer[id] = d);
    }
    nodes.forEach(function (n) { depth(n.id, {}); });
    var layers = [];
    nodes.forEach(function (n) { (layers[layer[n.id]] = layers[layer[n.id]] || []).push(n.id); });
    var pos = {}, W = 250, H = 30, maxRows = 0;
    layers.forEach(function (ids, x) {
      if (!ids) return;
      ids.forEach(function (id) {
        var ps = parents[id].filter(function (p) { return pos[p]; });
        byId[id].bary = ps.length ? ps.reduce(function (s, p) { return s + pos[p].y; }, 0) / ps.length : 0;
      });
      ids.sort(function (a, b) { return byId[a].bary - byId[b].bary || (a < b ? -1 : 1); });
      ids.forEach(function (id, y) { pos[id] = {x: x * W + 10, y: y * H + 10}; });
      maxRows = Math.max(maxRows, ids.length);
    });
    var width = layers.length * W + 20, height = maxRows * H + 20, parts = [];
    edges.forEach(function (e) {
      var a = pos[e[0]], b = pos[e[1]];
      var x1 = a.x + 210, y1 = a.y + 11, x2 = b.x, y2 = b.y + 11, mx = (x1 + x2) / 2;
      parts.push('<path class="' + (e[2] || "") + '" d="M' + x1 + "," + y1 + " C" + mx + "," + y1 +
        " " + mx + "," + y2 + " " + x2 + "," + y2 + '"/>');
    });
    nodes.forEach(function (n) {
      var p = pos[n.id], label = n.label.length > 34 ? n.label.slice(0, 33) + "…" : n.label;
      parts.push('<g class="n ' + esc(n.cls) + (focus[n.id] ? " focus" : "") + '" data-href="' +
        esc(n.href) + '" transform="translate(' + p.x + "," + p.y + ')"><title>' + esc(n.label) +
        '</title><rect width="210" height="22"></rect><text x="6" y="15">' + esc(label) + "</text></g>");
    });
    var div = document.createElement("div");
    div.className = "graph";
    div.innerHTML = '<svg xmlns="http://www.w3.org/2000/svg" width="' + width + '" height="' +
      height + '">' + parts.join("") + "</svg>";
    div.addEventListener("click", function (ev) {
      var g = ev.target.closest && ev.target.closest("g.n");
      if (g) location.hash = g.getAttribute("data-href");
    });
    return div;
  }

  /* -- dbt's selector syntax: +name, name+, 2+name, name+1, @name, tag:, path:, source: */
  function select(text) {
    var chosen = {}, any = false;
    function walk(start, dir, limit) {
      var out = {}, frontier = [start], d = 0;
      while (frontier.length && d < limit) {
        var next = [];
        frontier.forEach(function (id) {
          (dir === "up" ? N[id].parents : N[id].children).forEach(function (o) {
            if (!out[o] && N[o]) { out[o] = true; next.push(o); }
          });
        });
        frontier = next; d++;
      }
      return Object.keys(out);
    }
    function matches(n, spec) {
      var m = /^(tag|path|source|fqn):(.*)$/.exec(spec);
      var pat = new RegExp("^" + (m ? m[2] : spec).replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
      if (!m) return pat.test(n.name) || pat.test(n.relation);
      if (m[1] === "tag") return (n.config.tags || []).some(function (t) { return pat.test(t); });
      if (m[1] === "path") return n.path.indexOf(m[2].replace(/\/$/, "")) === 0;
      if (m[1] === "source") return n.kind === "source" && (pat.test(n.name) || pat.test(n.name.split(".")[0]));
      return pat.test(n.name);
    }
    text.split(/\s+/).filter(Boolean).forEach(function (token) {
      any = true;
      var m = /^(@)?(\d*\+)?(.+?)(\+\d*)?$/.exec(token);
      var spec = m[3];
      ids.forEach(function (id) {
        if (!matches(N[id], spec)) return;
        chosen[id] = true;
        var up = m[2] ? (m[2].length > 1 ? parseInt(m[2], 10) : 1e9) : 0;
        var down = m[4] ? (m[4].length > 1 ? parseInt(m[4].slice(1), 10) : 1e9) : 0;
        if (m[1]) down = 1e9;
        walk(id, "up", up).forEach(function (o) { chosen[o] = true; });
        walk(id, "down", down).forEach(function (o) {
          chosen[o] = true;
          if (m[1]) walk(o, "up", 1e9).forEach(function (p) { chosen[p] = true; });
        });
      });
    });
    return any ? chosen : null;
  }

  /* -- pages ------------------------------------------------------------------------- */
  function overview() {
    var counts = {};
    ids.forEach(function (id) { counts[N[id].kind] = (counts[N[id].kind] || 0) + 1; });
    var html = "<h1>" + esc(D.project) + "</h1><div class=sub>generated " + esc(D.generated_at) +
      (D.database ? " from " + esc(D.database) : " (no database)") + "</div><table class=kv>";
    Object.keys(counts).forEach(function (k) { html += "<tr><td>" + esc(k) + "s</td><td>" + counts[k] + "</td></tr>"; });
    html += "<tr><td>data tests</td><td>" + Object.keys(T).length + "</td></tr><tr><td>unit tests</td><td>" + Object.keys(U).length + "</td></tr></table><h2>Models</h2><table><tr><th>relation</th><th>materialized</th><th>description</th></tr>";
    ids.forEach(function (id) {
      var n = N[id];
      if (n.kind !== "model") return;
      html += "<tr><td>" + link(id) + "</td><td>" + esc(n.config.materialized) + "</td><td>" +
        esc((n.description || "").slice(0, 160)) + "</td></tr>";
    });
    main.innerHTML = html + "</table>";
  }

  function testRow(tid) {
    var t = T[tid], r = t.result;
    return "<tr><td>" + esc(t.name) + "</td><td>" + esc(t.type) + "</td><td>" + esc(t.column || "") +
      "</td><td>" + (r ? badge(r.status) + esc(r.failures ? r.failures + " failing rows " : "") +
      '<span class="muted">' + esc(r.at || "") + "</span>" : '<span class="muted">not run</span>') + "</td></tr>";
  }

  function unitRow(uid) {
    var u = U[uid], r = u.result;
    return "<tr><td>" + esc(u.name) + (u.description ? '<div class="muted">' + esc(u.description) + "</div>" : "") +
      "</td><td>" + u.given.map(function (g) {
        return esc(g.input) + ' <span class="muted">(' + (g.rows != null ? g.rows + (g.rows === 1 ? " row" : " rows") : esc(g.format)) + ")</span>";
      }).join("<br>") + "</td><td>" + esc(u.path) + "</td><td>" + (r ? badge(r.status) + '<span class="muted">' +
      esc(r.at || "") + "</span>" + (r.message ? "<pre>" + esc(r.message) + "</pre>" : "") : '<span class="muted">not run</span>') + "</td></tr>";
  }

  function nodePage(id) {
    var n = N[id];
    if (!n) { main.innerHTML = "<h1>Not found</h1><p>" + esc(id) + "</p>"; return; }
    var html = "<h1>" + esc(n.relation) + "</h1><div class=sub>" + badge(n.kind) + esc(n.path) + "</div>";
    html += "<p>" + esc(n.description || "No description.") + "</p><h2>Details</h2><table class=kv>";
    Object.keys(n.config).forEach(function (k) {
      var v = n.config[k];
      html += "<tr><td>" + esc(k) + "</td><td>" + esc(Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : v) + "</td></tr>";
    });
    if (n.stats.type) html += "<tr><td>relation type</td><td>" + esc(n.stats.type) + "</td></tr>";
    if (n.stats.rows != null) html += "<tr><td>rows (DuckDB's estimate)</td><td>" + n.stats.rows.toLocaleString("en") + "</td></tr>";
    if (n.stats.bytes != null) html += "<tr><td>size</td><td>" + bytes(n.stats.bytes) + "</td></tr>";
    if (n.result) html += "<tr><td>last run</td><td>" + badge(n.result.status) + esc(n.result.message || "") + "</td></tr>";
    html += "<tr><td>graph</td><td><a href=\"#!/graph/" + encodeURIComponent("+" + n.name + "+") + "\">+" + esc(n.name) + "+</a></td></tr></table>";
    html += "<h2>Columns (" + n.columns.length + ")</h2><table id=columns><tr><th>column</th><th>type</th><th>description</th><th>tests</th></tr>";
    n.columns.forEach(function (c) {
      var g = c.glossary ? '<div class="glossary">' + Object.keys(c.glossary).map(function (k) {
        return "<b>" + esc(k) + ":</b> " + esc(c.glossary[k]);
      }).join(" · ") + "</div>" : "";
      html += '<tr class="col"><td>' + link(id, c.name) + (c.missing ? ' <span class="muted">(documented, not in the output)</span>' : "") +
        '</td><td class="type">' + esc(c.type) + "</td><td>" + esc(c.description) + g + "</td><td>" +
        c.tests.map(function (t) { var r = T[t].result; return badge(T[t].type, r ? r.status : ""); }).join("") + "</td></tr>";
    });
    html += "</table><h2>Upstream</h2>" + (n.parents.length ? n.parents.map(function (p) { return link(p); }).join("<br>") : '<span class="muted">none</span>');
    html += "<h2>Downstream</h2>" + (n.children.length ? n.children.map(function (p) { return link(p); }).join("<br>") : '<span class="muted">none</span>');
    if (n.tests.length) html += "<h2>Data tests</h2><table><tr><th>test</th><th>type</th><th>column</th><th>last result</th></tr>" + n.tests.map(testRow).join("") + "</table>";
    if (n.unit_tests && n.unit_tests.length) html += "<h2>Unit tests</h2><table id=unittests><tr><th>unit test</th><th>given</th><th>file</th><th>last result</th></tr>" + n.unit_tests.map(unitRow).join("") + "</table>";
    if (n.kind === "source") {
      html += "<h2>Raw files</h2><p>folder <code>" + esc(n.folder) + "</code>" + (n.raw_folders.length ? " in " + n.raw_folders.map(esc).join(", ") : "") + "</p>";
      html += n.files.length ? "<table><tr><th>file</th><th>size</th><th>rows</th><th>checked</th></tr>" + n.files.map(function (f) {
        return "<tr><td>" + esc(f.path.split("/").pop()) + "</td><td>" + bytes(f.size_bytes) + "</td><td>" + esc(f.rows) + "</td><td>" + esc(f.checked_at) + "</td></tr>";
      }).join("") + "</table>" : '<p class="muted">no file checked yet (run a build)</p>';
    }
    if (n.raw_sql) html += "<details open><summary>SQL as written</summary><pre>" + esc(n.raw_sql) + "</pre></details>";
    if (n.compiled_sql) html += "<details><summary>Compiled SQL</summary><pre>" + esc(n.compiled_sql) + "</pre></details>";
    main.innerHTML = html;
  }

  var valueOnly = false;
  function columnPage(id, col) {
    var n = N[id];
    if (!n) { main.innerHTML = "<h1>Not found</h1>"; return; }
    var c = n.columns.filter(function (x) { return x.name === col; })[0] || {name: col, tests: []};
    var html = "<h1>" + esc(n.relation + "." + col) + "</h1><div class=sub>" + badge("column") + "of " + link(id) +
      (c.type ? ' · <span class="type">' + esc(c.type) + "</span>" : "") + "</div>";
    if (c.glossary) html += '<div class="glossary">' + Object.keys(c.glossary).map(function (k) {
      return "<b>" + esc(k) + ":</b> " + esc(c.glossary[k]);
    }).join("<br>") + "</div>";
    html += "<p>" + esc(c.description || "No description.") + "</p>";
    if (c.tests && c.tests.length) html += "<h2>Data tests</h2><table><tr><th>test</th><th>type</th><th>column</th><th>last result</th></tr>" + c.tests.map(testRow).join("") + "</table>";
    var up = upstream(id, col);
    var raw = up.filter(function (u) { return !N[u.id] || N[u.id].kind !== "model"; });
    raw.sort(function (a, b) { return a.id + a.col < b.id + b.col ? -1 : 1; });
    [["value", "Its value is computed from (raw and seed columns)"],
     ["filter", "Which rows there are depends on (joins, where, qualify, having)"]].forEach(function (k) {
      var rows = raw.filter(function (u) { return u.kind === k[0]; });
      html += "<h2>" + esc(k[1]) + " (" + rows.length + ")</h2><table class=\"rawlineage " + k[0] + "\">" +
        rows.map(function (u) { return '<tr class="' + u.kind + '"><td>' + link(u.id, u.col) + "</td><td>" + badge(u.kind) + "</td></tr>"; }).join("") + "</table>";
    });
    if (!L[id]) html += '<p class="muted">' + esc(n.kind) + " columns are where lineage starts.</p>";
    main.innerHTML = html + '<h2>Column lineage</h2><p class=muted>solid: value; dashed: decides which rows (join, where, qualify, having) <label><input type="checkbox" id="valueonly"' +
      (valueOnly ? " checked" : "") + "> value lineage only</label></p>";
    var holder = document.createElement("div");
    main.appendChild(holder);
    function draw() {
      var shown = up.filter(function (u) { return !valueOnly || u.kind === "value"; });
      var nodes = [{id: id + "\u0000" + col, label: n.relation.split(".").pop() + "." + col, cls: n.kind, href: "#!/column/" + encodeURIComponent(id) + "/" + encodeURIComponent(col)}];
      var want = {}, edges = [], focus = {};
      want[id + "\u0000" + col] = focus[id + "\u0000" + col] = true;
      shown.forEach(function (u) {
        want[u.id + "\u0000" + u.col] = true;
        var m = N[u.id];
        nodes.push({id: u.id + "\u0000" + u.col, label: (m ? m.relation.split(".").pop() : u.id) + "." + u.col, cls: m ? m.kind : "", href: "#!/column/" + encodeURIComponent(u.id) + "/" + encodeURIComponent(u.col)});
      });
      Object.keys(want).forEach(function (k) {
        var parts = k.split("\u0000");
        ((L[parts[0]] || {})[parts[1]] || []).forEach(function (e) {
          var from = e[0] + "\u0000" + e[1];
          if (want[from] && (!valueOnly || e[2] === "value")) edges.push([from, k, e[2]]);
        });
      });
      holder.innerHTML = "";
      holder.appendChild(drawGraph(nodes, edges, focus));
    }
    draw();
    document.getElementById("valueonly").onchange = function () { valueOnly = this.checked; draw(); };
    var down = downstream(id, col);
    var tail = document.createElement("div");
    tail.innerHTML = "<h2>Used by</h2>" + (down.length ? "<table>" + down.map(function (d) {
      return "<tr><td>" + link(d[0], d[1]) + "</td><td>" + badge(d[2]) + "</td></tr>";
    }).join("") + "</table>" : '<p class="muted">no model column reads it</p>');
    main.appendChild(tail);
  }

  function graphPage(selector) {
    var started = performance.now();
    var chosen = select(selector);
    var nodes = [], edges = [], focus = {};
    ids.forEach(function (id) {
      if (chosen && !chosen[id]) return;
      var n = N[id];
      nodes.push({id: id, label: n.relation, cls: n.kind, href: "#!/node/" + encodeURIComponent(id)});
      n.parents.forEach(function (p) { edges.push([p, id]); });
    });
    if (chosen) selector.split(/\s+/).forEach(function (t) {
      var name = t.replace(/^@/, "").replace(/^\d*\+/, "").replace(/\+\d*$/, "");
      ids.forEach(function (id) { if (N[id].name === name) focus[id] = true; });
    });
    main.innerHTML = '<h1>Lineage graph</h1><div id="graphbar"><input id="selector" value="' + esc(selector) +
      '" placeholder="+charging_sessions_cpo, tag:report, path:models/staging"><button id="go">Show</button><span class=muted id="graphcount"></span></div>';
    main.appendChild(drawGraph(nodes, edges, focus));
    document.getElementById("graphcount").textContent = nodes.length + " nodes, " + edges.length + " edges, drawn in " + Math.round(performance.now() - started) + " ms";
    var input = document.getElementById("selector");
    function go() { location.hash = "#!/graph/" + encodeURIComponent(input.value.trim()); }
    document.getElementById("go").onclick = go;
    input.onkeydown = function (e) { if (e.key === "Enter") go(); };
  }

  /* -- search across names, descriptions and columns ---------------------------------- */
  function searchPage(q) {
    var needle = q.toLowerCase().trim(), hits = [];
    if (needle) ids.forEach(function (id) {
      var n = N[id];
      if (n.relation.toLowerCase().indexOf(needle) >= 0) hits.push([0, link(id), n.description]);
      else if ((n.description || "").toLowerCase().indexOf(needle) >= 0) hits.push([2, link(id), n.description]);
      n.columns.forEach(function (c) {
        if (c.name.toLowerCase().indexOf(needle) >= 0) hits.push([1, link(id, c.name), c.description]);
        else if ((c.description || "").toLowerCase().indexOf(needle) >= 0) hits.push([3, link(id, c.name), c.description]);
      });
    });
    hits.sort(function (a, b) { return a[0] - b[0]; });
    main.innerHTML = "<h1>Search: " + esc(q) + "</h1><div class=sub>" + hits.length + " results</div><div id=results>" +
      hits.slice(0, 300).map(function (h) { return '<div class="hit">' + h[1] + '<div class="d">' + esc((h[2] || "").slice(0, 200)) + "</div></div>"; }).join("") + "</div>";
  }

  var searchBox = document.getElementById("search"), timer = null;
  searchBox.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { location.hash = "#!/search/" + encodeURIComponent(searchBox.value); }, 150);
  });

  function route() {
    var h = location.hash.replace(/^#!?\/?/, ""), parts = h.split("/");
    var what = parts[0], args = parts.slice(1).map(decodeURIComponent);
    Array.prototype.forEach.call(side.querySelectorAll("a.on"), function (a) { a.classList.remove("on"); });
    if (what === "node" || what === "column") {
      var a = side.querySelector('a[data-id="' + (window.CSS && CSS.escape ? CSS.escape(args[0]) : args[0]) + '"]');
      if (a) a.classList.add("on");
    }
    if (what === "node") nodePage(args[0]);
    else if (what === "column") columnPage(args[0], args.slice(1).join("/"));
    else if (what === "graph") graphPage(args.join("/"));
    else if (what === "search") searchPage(args.join("/"));
    else overview();
    window.scrollTo(0, 0);
  }
  window.addEventListener("hashchange", route);
  route();
})();
