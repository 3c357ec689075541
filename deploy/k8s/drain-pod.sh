#!/usr/bin/env bash
# drain-pod.sh - scale a correo StatefulSet down by one without stranding mail.
#
#   deploy/k8s/drain-pod.sh [-n NAMESPACE] [--statefulset NAME] [--timeout SECONDS] [--interval SECONDS] [--scale]
#
# A StatefulSet removes its highest ordinal first. This script:
#   1. takes that pod out of the SMTP Service (removes its correo.io/serving label, so the
#      load balancer stops sending it new mail; the headless Service still scrapes it);
#   2. flushes its queue (correoctl flush) every --interval seconds and waits until nothing
#      is left but held messages, or --timeout passes;
#   3. with --scale, scales the StatefulSet down by one.
# On timeout the label is put back (the pod serves again) and the exit status is 1: the
# remaining mail is listed so an operator can decide (wait longer, bounce, or scale anyway -
# the pod's PersistentVolumeClaim is retained, and the mail is delivered when the ordinal
# returns). Held messages never block the drain; they are reported and stay on the claim.
set -euo pipefail
shopt -s inherit_errexit   # a failing correoctl inside $(...) stops the script too

namespace_args=()
sts=correo
timeout=3600
interval=30
scale=false
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--namespace) namespace_args=(-n "$2"); shift 2 ;;
    --statefulset) sts="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --scale) scale=true; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "drain-pod.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

k() { kubectl "${namespace_args[@]}" "$@"; }
ctl() { k exec "$pod" -c correod -- correoctl --quiet "$@"; }
# count - messages in a state; a correoctl failure stops the script (set -e), never reads as 0.
count() {
  local out
  out=$(ctl queue list --json "$@")
  printf '%s' "$out" | grep -c . || true
}

replicas=$(k get statefulset "$sts" -o jsonpath='{.spec.replicas}')
if [ "$replicas" -lt 2 ]; then
  echo "drain-pod.sh: $sts has $replicas replica(s); keep at least one relay serving" >&2
  exit 1
fi
pod="$sts-$((replicas - 1))"

echo "taking $pod out of service"
k label pod "$pod" correo.io/serving-

deadline=$(( $(date +%s) + timeout ))
while true; do
  ctl flush >/dev/null
  active=$(count --state active)
  deferred=$(count --state deferred)
  held=$(count --state held)
  echo "$pod: active=$active deferred=$deferred held=$held"
  [ $((active + deferred)) -eq 0 ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "drain-pod.sh: $pod still has $((active + deferred)) message(s) after ${timeout}s; putting it back in service" >&2
    ctl queue list >&2 || true
    k label --overwrite pod "$pod" correo.io/serving=true
    exit 1
  fi
  sleep "$interval"
done

[ "$held" -gt 0 ] && echo "note: $held held message(s) stay on $pod's claim (correoctl release them on a later start)"
if $scale; then
  k scale statefulset "$sts" --replicas=$((replicas - 1))
  echo "scaled $sts to $((replicas - 1))"
else
  echo "$pod is drained; now: kubectl scale statefulset $sts --replicas=$((replicas - 1))"
fi
