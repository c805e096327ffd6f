/**
 * event_channel_op (xen/common/event_channel.c): alloc_unbound,
 * bind_interdomain, bind_virq, bind_ipi, close, send, status, unmask,
 * bind_vcpu, reset, and the FIFO ABI's init_control, expand_array and
 * set_priority (evtchn-fifo.ts); a domain uses the 2-level ABI until its
 * first init_control.
 */
import { EvtState, NR_EVTCHN_PORTS } from '../domain.js';
import { fifoDestroy, fifoExpandArray, fifoInitControl } from '../evtchn-fifo.js';
import * as P from '../public/event_channel.js';
import {
  EVTCHN_FIFO_LINK_BITS, EVTCHN_FIFO_PRIORITY_MIN, EVTCHNOP_alloc_unbound, EVTCHNOP_bind_interdomain, EVTCHNOP_bind_ipi, EVTCHNOP_bind_pirq,
  EVTCHNOP_bind_vcpu, EVTCHNOP_bind_virq, EVTCHNOP_close, EVTCHNOP_expand_array, EVTCHNOP_init_control, EVTCHNOP_reset, EVTCHNOP_send,
  EVTCHNOP_set_priority, EVTCHNOP_status, EVTCHNOP_unmask, evtchn_alloc_unbound, evtchn_bind_interdomain, evtchn_bind_ipi, evtchn_bind_vcpu,
  evtchn_bind_virq, evtchn_close, evtchn_expand_array, evtchn_init_control, evtchn_reset, evtchn_set_priority, evtchn_status,
} from '../public/event_channel.js';
import { NR_VIRQS, VIRQ_DEBUG, VIRQ_TIMER, VIRQ_XENOPROF, VIRQ_XENPMU } from '../public/xen.js';
import { DOMID_SELF, E, fld, namesFrom, u32, type HcCtx, subOpNames } from './types.js';

const SUB_NAME = subOpNames('EVTCHNOP', namesFrom(P, 'EVTCHNOP'));
/**
 * VIRQs bound per vCPU (virq_is_global in common/event_channel.c); the
 * others are global (bound to vCPU 0, movable with bind_vcpu).
 */
const PER_VCPU_VIRQS = new Set<number>([VIRQ_TIMER, VIRQ_DEBUG, VIRQ_XENOPROF, VIRQ_XENPMU]);

export function eventChannelOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const a = h.args[1]!;
  const { xen, d, v } = h;
  const g = v.guest;
  h.sub = cmd;
  h.subName = SUB_NAME(cmd);
  const self = (dom: number): number => (dom === DOMID_SELF ? d.id : dom);
  switch (cmd) {
    case EVTCHNOP_alloc_unbound: {
      const dom = g.u16(fld(a, evtchn_alloc_unbound.dom));
      const remote = g.u16(fld(a, evtchn_alloc_unbound.remote_dom));
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
      return g.putU32(fld(a, evtchn_alloc_unbound.port), port) ? 0 : -E.EFAULT;
    }
    case EVTCHNOP_bind_interdomain: {
      const rdom = g.u16(fld(a, evtchn_bind_interdomain.remote_dom));
      const rport = g.u32(fld(a, evtchn_bind_interdomain.remote_port));
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
      if (!g.putU32(fld(a, evtchn_bind_interdomain.local_port), port)) return -E.EFAULT;
      // Binding raises the local port, as Xen does, so neither side misses a notification.
      xen.setPending(d, port);
      return 0;
    }
    case EVTCHNOP_bind_virq: {
      const virq = g.u32(fld(a, evtchn_bind_virq.virq));
      const vcpu = g.u32(fld(a, evtchn_bind_virq.vcpu));
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
      return g.putU32(fld(a, evtchn_bind_virq.port), port) ? 0 : -E.EFAULT;
    }
    case EVTCHNOP_bind_ipi: {
      const vcpu = g.u32(fld(a, evtchn_bind_ipi.vcpu));
      if (vcpu === null) return -E.EFAULT;
      h.decoded.vcpu = vcpu;
      if (d.vcpus[vcpu] === undefined) return -E.ENOENT;
      const port = d.allocPort();
      if (port < 0) return -E.ENOSPC;
      Object.assign(d.ports[port]!, { state: EvtState.IPI, vcpu });
      h.decoded.port = port;
      return g.putU32(fld(a, evtchn_bind_ipi.port), port) ? 0 : -E.EFAULT;
    }
    case EVTCHNOP_close:
    case EVTCHNOP_send:
    case EVTCHNOP_unmask: {
      // evtchn_close, evtchn_send and evtchn_unmask are all { port }.
      const port = g.u32(fld(a, evtchn_close.port));
      if (port === null) return -E.EFAULT;
      h.decoded.port = port;
      if (cmd === EVTCHNOP_send) return xen.send(d, port, v);
      if (port >= NR_EVTCHN_PORTS) return -E.EINVAL;
      if (cmd === EVTCHNOP_unmask) {
        xen.unmask(d, port);
        return 0;
      }
      if (d.port(port) === null) return -E.EINVAL;
      xen.closePort(d, port);
      return 0;
    }
    case EVTCHNOP_status: {
      const dom = g.u16(fld(a, evtchn_status.dom));
      const port = g.u32(fld(a, evtchn_status.port));
      if (dom === null || port === null) return -E.EFAULT;
      h.decoded.dom = dom;
      h.decoded.port = port;
      if (self(dom) !== d.id && !d.privileged) return -E.EPERM;
      const t = xen.domain(self(dom));
      if (t === undefined) return -E.ESRCH;
      if (port >= NR_EVTCHN_PORTS) return -E.EINVAL;
      const p = t.port(port);
      // The OUT part: status .. the end of the union.
      const S = evtchn_status;
      const out = new Uint8Array(S.size - S.status);
      const dv = new DataView(out.buffer);
      const put = (off: number): number => off - S.status;
      const state = p?.state ?? EvtState.CLOSED;
      dv.setUint32(put(S.status), state, true);
      dv.setUint32(put(S.vcpu), p?.vcpu ?? 0, true);
      if (p && state === EvtState.UNBOUND) dv.setUint16(put(S.u_unbound_dom), p.remoteDom, true);
      if (p && state === EvtState.INTERDOMAIN) {
        dv.setUint16(put(S.u_interdomain_dom), p.remoteDom, true);
        dv.setUint32(put(S.u_interdomain_port), p.remotePort, true);
      }
      if (p && state === EvtState.VIRQ) dv.setUint32(put(S.u_virq), p.virq, true);
      h.decoded.status = state;
      return g.write(fld(a, S.status), out) ? 0 : -E.EFAULT;
    }
    case EVTCHNOP_bind_vcpu: {
      const port = g.u32(fld(a, evtchn_bind_vcpu.port));
      const vcpu = g.u32(fld(a, evtchn_bind_vcpu.vcpu));
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
    case EVTCHNOP_reset: {
      const dom = g.u16(fld(a, evtchn_reset.dom));
      if (dom === null) return -E.EFAULT;
      if (self(dom) !== d.id && !d.privileged) return -E.EPERM;
      for (let port = 1; port < d.ports.length; port++) if (d.ports[port] && d.ports[port]!.service === null) xen.closePort(d, port);
      if (d.fifo) fifoDestroy(xen, d); // back to 2-level
      return 0;
    }
    case EVTCHNOP_bind_pirq:
      return -E.EPERM;
    case EVTCHNOP_init_control: {
      const I = evtchn_init_control;
      const gfn = g.u64(fld(a, I.control_gfn));
      const offset = g.u32(fld(a, I.offset));
      const vcpu = g.u32(fld(a, I.vcpu));
      if (gfn === null || offset === null || vcpu === null) return -E.EFAULT;
      Object.assign(h.decoded, { control_gfn: gfn, offset, vcpu });
      const rc = fifoInitControl(xen, d, vcpu, gfn, offset);
      if (rc === 0 && !g.putU32(fld(a, I.link_bits), EVTCHN_FIFO_LINK_BITS)) return -E.EFAULT;
      return rc;
    }
    case EVTCHNOP_expand_array: {
      const gfn = g.u64(fld(a, evtchn_expand_array.array_gfn));
      if (gfn === null) return -E.EFAULT;
      h.decoded.array_gfn = gfn;
      return fifoExpandArray(xen, d, gfn);
    }
    case EVTCHNOP_set_priority: {
      const port = g.u32(fld(a, evtchn_set_priority.port));
      const priority = g.u32(fld(a, evtchn_set_priority.priority));
      if (port === null || priority === null) return -E.EFAULT;
      Object.assign(h.decoded, { port, priority });
      const p = d.port(port);
      if (p === null) return -E.EINVAL;
      if (!d.fifo) return -E.ENOSYS; // the 2-level ABI has no priorities
      if (priority > EVTCHN_FIFO_PRIORITY_MIN) return -E.EINVAL;
      p.priority = priority;
      return 0;
    }
    default:
      return -E.ENOSYS;
  }
}
