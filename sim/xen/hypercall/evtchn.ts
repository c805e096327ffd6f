/**
 * event_channel_op (xen/common/event_channel.c): alloc_unbound,
 * bind_interdomain, bind_virq, bind_ipi, close, send, status, unmask,
 * bind_vcpu, reset, and the FIFO ABI's init_control, expand_array and
 * set_priority (evtchn-fifo.ts); a domain uses the 2-level ABI until its
 * first init_control.
 */
import { EvtState, NR_EVTCHN_PORTS } from '../domain.js';
import { fifoDestroy, fifoExpandArray, fifoInitControl } from '../evtchn-fifo.js';
import * as EC from '../public/event_channel.js';
import { DOMID_SELF, E, u32, type HcCtx, subOpNames } from './types.js';

const NAMES: Record<number, string> = { 0: 'bind_interdomain', 1: 'bind_virq', 2: 'bind_pirq', 3: 'close', 4: 'send', 5: 'status', 6: 'alloc_unbound', 7: 'bind_ipi', 8: 'bind_vcpu', 9: 'unmask', 10: 'reset', 11: 'init_control', 12: 'expand_array', 13: 'set_priority' };
const SUB_NAME = subOpNames('EVTCHNOP', NAMES);
const NR_VIRQS = 24;
/** VIRQs bound per vCPU; the others are global (bound to vCPU 0, movable with bind_vcpu). */
const PER_VCPU_VIRQS = new Set([0, 1, 2, 6]);

export function eventChannelOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const a = h.args[1]!;
  const { xen, d, v } = h;
  const g = v.guest;
  h.sub = cmd;
  h.subName = SUB_NAME(cmd);
  const self = (dom: number): number => (dom === DOMID_SELF ? d.id : dom);
  switch (cmd) {
    case 6: {
      const dom = g.u16(a);
      const remote = g.u16(a + 2n);
      if (dom === null || remote === null) return -E.EFAULT;
      h.decoded.dom = dom;
      h.decoded.remote_dom = remote;
      if (self(dom) !== d.id && !d.privileged) return -E.EPERM;
      const target = xen.domain(self(dom));
      if (target === undefined) return -E.ESRCH;
      const port = target.allocPort();
      if (port < 0) return -E.ENOSPC;
      target.ports[port]!.remoteDom = remote === DOMID_SELF ? target.id : remote;
      h.decoded.port = port;
      return g.putU32(a + 4n, port) ? 0 : -E.EFAULT;
    }
    case 0: {
      const rdom = g.u16(a);
      const rport = g.u32(a + 4n);
      if (rdom === null || rport === null) return -E.EFAULT;
      h.decoded.remote_dom = rdom;
      h.decoded.remote_port = rport;
      const peer = xen.domain(self(rdom));
      if (peer === undefined || !peer.alive) return -E.ESRCH;
      const rp = peer.port(rport);
      if (rp === null || rp.state !== EvtState.UNBOUND || rp.remoteDom !== d.id) return -E.EINVAL;
      const port = d.allocPort();
      if (port < 0) return -E.ENOSPC;
      Object.assign(d.ports[port]!, { state: EvtState.INTERDOMAIN, remoteDom: peer.id, remotePort: rport });
      Object.assign(rp, { state: EvtState.INTERDOMAIN, remoteDom: d.id, remotePort: port });
      h.decoded.local_port = port;
      if (!g.putU32(a + 8n, port)) return -E.EFAULT;
      // Binding raises the local port, as Xen does, so neither side misses a notification.
      xen.setPending(d, port);
      return 0;
    }
    case 1: {
      const virq = g.u32(a);
      const vcpu = g.u32(a + 4n);
      if (virq === null || vcpu === null) return -E.EFAULT;
      h.decoded.virq = virq;
      h.decoded.vcpu = vcpu;
      if (virq >= NR_VIRQS) return -E.EINVAL;
      if (!PER_VCPU_VIRQS.has(virq) && vcpu !== 0) return -E.EINVAL;
      if (d.vcpus[vcpu] === undefined) return -E.ENOENT;
      if (d.ports.some((p) => p !== null && p.state === EvtState.VIRQ && p.virq === virq && p.vcpu === vcpu)) return -E.EEXIST;
      const port = d.allocPort();
      if (port < 0) return -E.ENOSPC;
      Object.assign(d.ports[port]!, { state: EvtState.VIRQ, virq, vcpu });
      h.decoded.port = port;
      return g.putU32(a + 8n, port) ? 0 : -E.EFAULT;
    }
    case 7: {
      const vcpu = g.u32(a);
      if (vcpu === null) return -E.EFAULT;
      h.decoded.vcpu = vcpu;
      if (d.vcpus[vcpu] === undefined) return -E.ENOENT;
      const port = d.allocPort();
      if (port < 0) return -E.ENOSPC;
      Object.assign(d.ports[port]!, { state: EvtState.IPI, vcpu });
      h.decoded.port = port;
      return g.putU32(a + 4n, port) ? 0 : -E.EFAULT;
    }
    case 3:
    case 4:
    case 9: {
      const port = g.u32(a);
      if (port === null) return -E.EFAULT;
      h.decoded.port = port;
      if (cmd === 4) return xen.send(d, port, v);
      if (port >= NR_EVTCHN_PORTS) return -E.EINVAL;
      if (cmd === 9) {
        xen.unmask(d, port);
        return 0;
      }
      if (d.port(port) === null) return -E.EINVAL;
      xen.closePort(d, port);
      return 0;
    }
    case 5: {
      const dom = g.u16(a);
      const port = g.u32(a + 4n);
      if (dom === null || port === null) return -E.EFAULT;
      h.decoded.dom = dom;
      h.decoded.port = port;
      if (self(dom) !== d.id && !d.privileged) return -E.EPERM;
      const t = xen.domain(self(dom));
      if (t === undefined) return -E.ESRCH;
      if (port >= NR_EVTCHN_PORTS) return -E.EINVAL;
      const p = t.port(port);
      const out = new Uint8Array(16);
      const dv = new DataView(out.buffer);
      const state = p?.state ?? EvtState.CLOSED;
      dv.setUint32(0, state, true);
      dv.setUint32(4, p?.vcpu ?? 0, true);
      if (p && state === EvtState.UNBOUND) dv.setUint16(8, p.remoteDom, true);
      if (p && state === EvtState.INTERDOMAIN) {
        dv.setUint16(8, p.remoteDom, true);
        dv.setUint32(12, p.remotePort, true);
      }
      if (p && state === EvtState.VIRQ) dv.setUint32(8, p.virq, true);
      h.decoded.status = state;
      return g.write(a + 8n, out) ? 0 : -E.EFAULT;
    }
    case 8: {
      const port = g.u32(a);
      const vcpu = g.u32(a + 4n);
      if (port === null || vcpu === null) return -E.EFAULT;
      h.decoded.port = port;
      h.decoded.vcpu = vcpu;
      const p = d.port(port);
      if (p === null) return -E.ENOENT;
      if (d.vcpus[vcpu] === undefined) return -E.ENOENT;
      if (p.state === EvtState.VIRQ && PER_VCPU_VIRQS.has(p.virq)) return -E.EINVAL;
      if (p.state === EvtState.IPI || p.state === EvtState.CLOSED) return -E.EINVAL;
      p.vcpu = vcpu;
      return 0;
    }
    case 10: {
      const dom = g.u16(a);
      if (dom === null) return -E.EFAULT;
      if (self(dom) !== d.id && !d.privileged) return -E.EPERM;
      for (let port = 1; port < d.ports.length; port++) if (d.ports[port] && d.ports[port]!.service === null) xen.closePort(d, port);
      if (d.fifo) fifoDestroy(xen, d); // back to 2-level
      return 0;
    }
    case 2:
      return -E.EPERM;
    case EC.EVTCHNOP_init_control: {
      const I = EC.evtchn_init_control;
      const gfn = g.u64(a + BigInt(I.control_gfn));
      const offset = g.u32(a + BigInt(I.offset));
      const vcpu = g.u32(a + BigInt(I.vcpu));
      if (gfn === null || offset === null || vcpu === null) return -E.EFAULT;
      Object.assign(h.decoded, { control_gfn: gfn, offset, vcpu });
      const rc = fifoInitControl(xen, d, vcpu, gfn, offset);
      if (rc === 0 && !g.putU32(a + BigInt(I.link_bits), EC.EVTCHN_FIFO_LINK_BITS)) return -E.EFAULT;
      return rc;
    }
    case EC.EVTCHNOP_expand_array: {
      const gfn = g.u64(a);
      if (gfn === null) return -E.EFAULT;
      h.decoded.array_gfn = gfn;
      return fifoExpandArray(xen, d, gfn);
    }
    case EC.EVTCHNOP_set_priority: {
      const port = g.u32(a);
      const priority = g.u32(a + BigInt(EC.evtchn_set_priority.priority));
      if (port === null || priority === null) return -E.EFAULT;
      Object.assign(h.decoded, { port, priority });
      const p = d.port(port);
      if (p === null) return -E.EINVAL;
      if (!d.fifo) return -E.ENOSYS; // the 2-level ABI has no priorities
      if (priority > EC.EVTCHN_FIFO_PRIORITY_MIN) return -E.EINVAL;
      p.priority = priority;
      return 0;
    }
    default:
      return -E.ENOSYS;
  }
}
