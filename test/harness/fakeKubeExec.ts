// The pods/exec subresource of FakeKubeApi: `GET /api/v1/namespaces/{ns}/pods/{pod}/exec?command=..&container=..
// &stdout=true&stderr=true` upgraded to a WebSocket, answered as the API server does.
//
// Before the upgrade, a plain HTTP Status (k8s pkg/registry/core/pod/strategy.go streamLocation):
//   missing pod: 404 NotFound `pods "<pod>" not found` (getPod, the store's NotFound);
//   unknown container: 400 BadRequest `container <c> is not valid for pod <pod>`.
// After it, the protocol of a Kubernetes >= 1.30 API server: a client offering `v5.channel.k8s.io`
// (client-node 1.4.0 offers v5, v4, v3, v2, channel.k8s.io: dist/web-socket-handler.js) is served by the
// API server itself, which translates to SPDY toward the kubelet (k8s.io/apiserver pkg/util/proxy/
// streamtranslator.go and websocket.go, "WebSocket server only supports remote command version 5";
// chosen when wsstream.IsWebSocketRequestWithStreamCloseProtocol). Binary frames whose first byte is the
// channel: first an empty frame on the lowest requested output channel, then 1 stdout, 2 stderr, and the
// status on 3, then close. An exit code is reported as (codeExitToStatusError, whose inner text is
// client-go remotecommand v4.go errorDecoderV4's CodeExitError)
//   {"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: command terminated with exit code N",
//    "reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"N"}]}}
// Success is {"metadata":{},"status":"Success"} (json.Marshal of metav1.Status: no kind, empty metadata kept).
// A handler that throws stands for a runtime failure: errors.NewInternalError's Status, code 500.
// Not served: clients offering only v4 or older (older API servers proxy those to the kubelet, whose
// status message is containerd's "error executing command [sh -c ...], exit code N"; the causes are the same).
import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** What runs a command "in" a container: the test decides. */
export type ExecHandler = (namespace: string, pod: string, container: string, command: string[]) => Promise<ExecResult>;

/** The narrow part of `ws` (a dependency of client-node) used here; no @types/ws in the tree. */
interface WsSocket {
  send(data: Buffer): void;
  close(code?: number): void;
}
interface WsServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WsSocket) => void): void;
}

const PROTOCOL = "v5.channel.k8s.io";

let wss: WsServer | undefined;
function server(): WsServer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { WebSocketServer } = require("ws") as { WebSocketServer: new (o: object) => WsServer };
  wss ??= new WebSocketServer({
    noServer: true,
    // The protocol chosen in serveExec travels on the request (ws calls this during handleUpgrade).
    handleProtocols: (_offered: Set<string>, req: IncomingMessage & { chosenProtocol?: string }) => req.chosenProtocol ?? false,
  });
  return wss;
}

/** An HTTP answer written on the raw socket (the upgrade never happened). */
export function refuseUpgrade(socket: Duplex, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ""}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}

const frame = (channel: number, data: string | Buffer): Buffer => Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(data) ? data : Buffer.from(data, "utf8")]);

/** The status JSON for a finished command (see the header). */
export function execStatus(r: ExecResult | Error): Record<string, unknown> {
  if (r instanceof Error) {
    return { metadata: {}, status: "Failure", message: `Internal error occurred: ${r.message}`, reason: "InternalError", details: { causes: [{ message: r.message }] }, code: 500 };
  }
  if (r.exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: command terminated with exit code ${r.exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(r.exitCode) }] },
  };
}

/**
 * Upgrades an exec request already checked (pod and container exist) and runs `handler`.
 * Returns false when v5.channel.k8s.io was not offered (the caller answers 400).
 */
export function serveExec(req: IncomingMessage, socket: Duplex, head: Buffer, target: { namespace: string; pod: string; container: string }, command: string[], handler: ExecHandler | undefined): boolean {
  const offered = String(req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  if (!offered.includes(PROTOCOL)) return false;
  (req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol = PROTOCOL;
  const url = new URL(req.url ?? "/", "https://127.0.0.1");
  const outputs = [url.searchParams.get("stdout") === "true" ? 1 : 0, url.searchParams.get("stderr") === "true" ? 2 : 0].filter((c) => c > 0);
  server().handleUpgrade(req, socket, head, (ws) => {
    // "Send an empty message to the lowest writable channel to notify the client the connection is established."
    ws.send(frame(outputs[0] ?? 3, ""));
    const run = handler ? handler(target.namespace, target.pod, target.container, command) : Promise.reject(new Error("FakeKubeApi has no exec handler"));
    void run.then((r) => r, (e: unknown) => (e instanceof Error ? e : new Error(String(e)))).then((r) => {
      if (!(r instanceof Error)) {
        if (r.stdout !== "" && outputs.includes(1)) ws.send(frame(1, r.stdout));
        if (r.stderr !== "" && outputs.includes(2)) ws.send(frame(2, r.stderr));
      }
      ws.send(frame(3, JSON.stringify(execStatus(r))));
      ws.close(1000);
    });
  });
  return true;
}
