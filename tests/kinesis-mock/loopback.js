// Loaded with "node --require" before kinesis-mock (tests/kinesis-mock/
// kinesis-mock.py, contrib/demo): every listening socket the process opens
// binds 127.0.0.1, whatever address it asks for. The mock asks for the
// wildcard address and has no setting for it; the tests and the demo reach
// it on loopback only, so nothing else needs to reach it at all.
"use strict";
const net = require("net");

const WILDCARD = new Set(["0.0.0.0", "::", "", undefined, null]);
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (first !== null && typeof first === "object" && !Array.isArray(first)) {
    // listen({port, host, ...}, cb): a path (a Unix socket) is left alone.
    if (first.path === undefined && WILDCARD.has(first.host)) {
      args[0] = Object.assign({}, first, { host: "127.0.0.1" });
    }
  } else if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    // listen(port[, host][, backlog][, cb])
    if (typeof args[1] === "string" && !WILDCARD.has(args[1])) {
      // an explicit address: kept
    } else if (typeof args[1] === "string" || args[1] === undefined || args[1] === null) {
      args[1] = "127.0.0.1";
    } else {
      args.splice(1, 0, "127.0.0.1");
    }
  }
  return listen.apply(this, args);
};
