import { describe, expect, it } from 'vitest';
import { addressKey, parseAddressRange } from '../src/client-address.ts';

describe('addressKey', () => {
  it('keeps an IPv4 address, mapped or not', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::FFFF:192.0.2.7')).toBe('192.0.2.7');
  });

  it('counts an IPv6 address by its /64, however it is written', () => {
    const key = '2001:db8:0:1::/64';
    for (const address of ['2001:db8:0:1::1', '2001:0db8:0000:0001:ffff:ffff:ffff:ffff', '2001:db8::1:1:2:3:4', 'fe80::1%eth0'.replace('fe80::1', '2001:db8:0:1::9')]) {
      expect(addressKey(address), address).toBe(key);
    }
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(addressKey('2001:db8:0:2::1')).not.toBe(key);
  });
});

describe('parseAddressRange', () => {
  it('takes addresses and networks', () => {
    expect(parseAddressRange('10.0.0.5')).toEqual({ address: '10.0.0.5', family: 'ipv4' });
    expect(parseAddressRange('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseAddressRange('fd00::/8')).toEqual({ address: 'fd00::', prefix: 8, family: 'ipv6' });
  });

  it('refuses anything else', () => {
    for (const entry of ['', 'proxy.internal', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/-1', '300.0.0.1']) {
      expect(parseAddressRange(entry), entry).toBeUndefined();
    }
  });
});
