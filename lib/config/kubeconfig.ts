// `sites.<s>.kubeconfig` is a path or the kubeconfig itself: config validates it, the clients load it.
export function isInlineKubeconfig(kubeconfig: string): boolean {
  return kubeconfig.includes("\n") || /^\s*(apiVersion|\{|clusters:)/.test(kubeconfig);
}
