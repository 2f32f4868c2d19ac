// The map page's selected-place outline, drawn straight on the map's MapLibre instance.
//
// The server sends the outline's coordinates to the "map-outline" store; this draws them as a line
// layer of their own. Through Plotly, changing the outline redrew every hexagon of the map (a click
// waited 1 s in software-drawn browsers: bench/README.md "Map in Chromium"); here only the line is
// redrawn, and a click that changes nothing else leaves the map's figure alone.
// A file, not inline script: the Content-Security-Policy allows no inline script.
(function () {
  var SOURCE = "istv-selected", LAYER = "istv-selected-line", COLOUR = "#0b3d91";
  var wanted = {};  // graph id -> the coordinates to show

  function mapOf(graphId) {
    var gd = document.querySelector("#" + graphId + " .js-plotly-plot");
    var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    return sub && sub.map ? {gd: gd, map: sub.map} : null;
  }

  function collection(coords) {
    var features = coords && coords.length > 1 ? [{type: "Feature", properties: {},
      geometry: {type: "LineString", coordinates: coords}}] : [];
    return {type: "FeatureCollection", features: features};
  }

  function draw(graphId) {
    var found = mapOf(graphId);
    if (!found) { return false; }
    var map = found.map;
    if (!found.gd.__istvOutline) {  // once per plot: draw again after Plotly redraws or the style reloads
      found.gd.__istvOutline = true;
      found.gd.on("plotly_afterplot", function () { draw(graphId); });
      // a new style drops our layer: add it again (only then: adding a layer is itself a style change)
      map.on("styledata", function () {
        if (map.style && map.style._loaded && !map.getLayer(LAYER)) { setTimeout(function () { draw(graphId); }, 0); }
      });
    }
    // the style's own layers must be in (not its tiles: isStyleLoaded() waits for every tile, and "idle" for a
    // drawn frame, which a background tab never draws)
    if (!(map.style && map.style._loaded)) { setTimeout(function () { draw(graphId); }, 100); return true; }
    var data = collection(wanted[graphId]);
    var source = map.getSource(SOURCE);
    if (source) { source.setData(data); } else { map.addSource(SOURCE, {type: "geojson", data: data}); }
    if (!map.getLayer(LAYER)) {
      map.addLayer({id: LAYER, type: "line", source: SOURCE,
                    paint: {"line-color": COLOUR, "line-width": 3.5}, layout: {"line-join": "round"}});
    } else {
      var layers = map.getStyle().layers;
      if (layers[layers.length - 1].id !== LAYER) { map.moveLayer(LAYER); }  // above layers Plotly added since
    }
    return true;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    istv_map: {
      // a search result: move the map there (the figure may be left as it is: same shapes and values)
      fly: function (target, graphId) {
        if (!target) { return window.dash_clientside.no_update; }
        var tries = 0;
        (function attempt() {
          var found = mapOf(graphId);
          if (!found) { if (tries++ < 100) { setTimeout(attempt, 100); } return; }
          // through Plotly, so its layout (and the link's view) follow; MapLibre's own jumpTo would leave
          // Plotly's layout behind, and its next redraw would move the map back
          window.Plotly.relayout(found.gd, {"map.center": {lat: target.lat, lon: target.lon}, "map.zoom": target.zoom});
        })();
        return window.dash_clientside.no_update;
      },
      outline: function (coords, graphId) {
        wanted[graphId] = coords || [];
        var tries = 0;
        (function attempt() {  // the map may not exist yet on the page's first render
          if (!draw(graphId) && tries++ < 600) { setTimeout(attempt, 100); }  // up to a minute
        })();
        return window.dash_clientside.no_update;
      }
    }
  });
})();
