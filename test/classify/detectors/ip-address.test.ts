import { describe, expect, it } from "vitest";
import { ipAddressDetector } from "../../../src/classify/detectors/ip-address.js";

const values = (text: string) => ipAddressDetector.find(text).map((m) => text.slice(m.start, m.end));

describe("ipAddressDetector", () => {
  it("is the pii kind ip_address", () => {
    expect(ipAddressDetector.kind).toBe("ip_address");
    expect(ipAddressDetector.group).toBe("pii");
  });

  it("reports an IPv4 address's offsets at score 0.9, without its port or prefix length", () => {
    expect(ipAddressDetector.find("from 203.0.113.7:52144")).toEqual([{ start: 5, end: 16, score: 0.9 }]);
    expect(values("192.168.1.0/24")).toEqual(["192.168.1.0"]);
  });

  it("counts private addresses but not the loopback, 0.x or 255.x", () => {
    expect(values("10.0.0.1 172.16.0.1 192.168.0.1 127.0.0.1 0.0.0.0 255.255.255.0")).toEqual([
      "10.0.0.1",
      "172.16.0.1",
      "192.168.0.1",
    ]);
  });

  it("rejects octets over 255 and leading zeros", () => {
    expect(values("256.1.1.1 1.2.3.999 010.1.1.1 1.1.1.01")).toEqual([]);
  });

  it("rejects dotted runs that are not exactly four parts, and quads after version or section words", () => {
    expect(
      values("1.2.3 1.2.3.4.5 1.3.6.1.4.1.311 v1.2.3.4 version 1.2.3.4 OID 2.5.4.3 section 3.2.1.4"),
    ).toEqual([]);
  });

  it("finds full and compressed IPv6 addresses, with an IPv4 tail as one address", () => {
    expect(
      values(
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334 2001:db8::1 fe80::1%eth0 [2001:db8::8]:443 ::ffff:192.0.2.1",
      ),
    ).toEqual([
      "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
      "2001:db8::1",
      "fe80::1",
      "2001:db8::8",
      "::ffff:192.0.2.1",
    ]);
  });

  it("drops a trailing colon or full stop from an IPv6 address", () => {
    expect(values("reached 2001:db8::1: refused; ping 2001:db8::2.")).toEqual(["2001:db8::1", "2001:db8::2"]);
  });

  it("rejects times, MAC addresses, C++ and Ruby scopes, slices and the loopback ::1", () => {
    expect(
      values("12:30:45 2024-05-01T12:30:45Z 00:1a:2b:3c:4d:5e std::vector A::B Dead::Beef a[1::2] ::1"),
    ).toEqual([]);
  });

  it("rejects IPv6 forms with two ::, too many groups or too long groups", () => {
    expect(values("2001::db8::1 1:2:3:4:5:6:7:8:9 2001:db8a0::1")).toEqual([]);
  });
});
