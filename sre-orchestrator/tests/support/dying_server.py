"""A Kubernetes-like MCP server (official Python SDK) that dies on `logs`.

Used by tests/agent.rs: a tool server that exits mid-investigation.
"""
import os

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

mcp = MCPServer("dying-k8s")


@mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
def workload_health(namespace: str | None = None) -> str:
    """Workload health of a namespace."""
    return (
        "# workload health in namespace shop: 1 findings\n"
        "CRITICAL  shop/Deployment/cart (pods)  OOMKilled  (since 4m ago)\n"
        "    3 pods: cart-59b7d8c6f-87l5t, cart-59b7d8c6f-f246m, cart-59b7d8c6f-gtvmw\n"
        "    e.g. cart-59b7d8c6f-87l5t: container cart: OOMKilled (exit 137) 4m ago, memory limit 256Mi, restarts 6\n"
    )


@mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
def logs(pod: str) -> str:
    """Logs of a pod. (This server exits instead.)"""
    os._exit(3)


if __name__ == "__main__":
    mcp.run()
