// GraphiQL for /api/v1/graphql, from our own copies of React and GraphiQL (scripts/vendor_web.sh): no
// CDN, and no inline script, so the page's CSP needs no 'unsafe-inline'. Authenticate by putting
// {"Authorization": "Bearer <access token>"} in the Headers tab: GraphiQL sends it with every query and
// in the subscription's connection_init payload.
(function () {
  "use strict";
  var endpoint = new URL("/api/v1/graphql", window.location.href);
  var socket = new URL(endpoint.href);
  socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
  var fetcher = window.GraphiQL.createFetcher({ url: endpoint.href, subscriptionUrl: socket.href });
  var root = window.ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    window.React.createElement(window.GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: '{"Authorization": "Bearer <access token from POST /api/auth/login>"}',
      defaultQuery: "{\n  me { username }\n  documents(pageSize: 5) { total items { id originalFilename status } }\n}\n",
    }),
  );
})();
