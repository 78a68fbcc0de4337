#!/usr/bin/env python3
"""Writes seeds/jwt from core/oauth's JWT test vectors (run from tests/fuzz). The first
byte of each seed is the jwt target's profile byte (bit 0: claims mode)."""
import os
os.chdir(os.path.dirname(os.path.abspath(__file__)))
import re, base64, json
src=open('../../core/oauth/testdata/jwt_vectors.rs').read()
v=dict(re.findall(r'pub const (\w+): &str = r#"(.*?)"#;', src))
NOW=int(re.search(r'NOW: u64 = (\d+)',src).group(1))
def b64(t):
    if isinstance(t,str): t=t.encode()
    return base64.urlsafe_b64encode(t).rstrip(b'=').decode()
def w(name, profile, text):
    open('seeds/jwt/'+name,'wb').write(bytes([profile])+(text.encode() if isinstance(text,str) else text))
for k in ['RS256_TOKEN','RS256_ROTATED_TOKEN','RS256_IMPOSTOR_TOKEN','ES256_TOKEN','ES256_NO_KID_TOKEN','EDDSA_TOKEN']:
    w(k.lower().replace('_token','').replace('_','-'), 0, v[k])
rs=v['RS256_TOKEN']; h,p,s=rs.split('.')
def claims(extra=''):
    return '{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":%d,"iat":%d,"sub":"alice","client_id":"app","scope":"api:read api:write"%s}'%(NOW+3600,NOW-10,extra)
def hdr(obj): return b64(json.dumps(obj,separators=(',',':')))
w('rs256-payload-swapped',0,'%s.%s.%s'%(h,b64(claims()),s))
w('rs256-signature-flipped',0,'%s.%s.%s%s'%(h,p,s[:-1],'A' if s[-1]!='A' else 'Q'))
es=v['ES256_TOKEN'].split('.')
w('es256-header-says-rs256',0,'%s.%s.%s'%(hdr({"alg":"RS256","typ":"at+jwt","kid":"ec-1"}),es[1],es[2]))
w('alg-none',0,'%s.%s.'%(hdr({"alg":"none"}),p))
w('hs256',0,'%s.%s.%s'%(hdr({"alg":"HS256","typ":"at+jwt","kid":"rsa-1"}),p,s))
w('crit',0,'%s.%s.%s'%(hdr({"alg":"RS256","typ":"at+jwt","kid":"rsa-1","crit":["x"],"x":1}),p,s))
w('typ-jwt-header-swapped',2,'%s.%s.%s'%(hdr({"alg":"RS256","typ":"JWT","kid":"rsa-1"}),p,s))
w('unknown-kid',0,'%s.%s.%s'%(hdr({"alg":"RS256","typ":"at+jwt","kid":"rsa-9"}),p,s))
w('ps256',0,'%s.%s.%s'%(hdr({"alg":"PS256","typ":"at+jwt","kid":"rsa-1"}),p,s))
w('jwe-five-parts',0,'eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ')
w('opaque',0,'opaque-token_value')
w('claims-vector',1,base64.urlsafe_b64decode(p+'='*(-len(p)%4)))
w('claims-scp-array',1,claims(',"scp":["api:write","email"]'))
w('claims-permissions',5,claims(',"permissions":["api:write","admin"]'))
w('claims-cognito',9,'{"iss":"http://127.0.0.1:9000","exp":%d,"client_id":"app","token_use":"access","scope":"api:read","sub":"u-1"}'%(NOW+60))
w('claims-aud-array-azp',1,'{"iss":"http://127.0.0.1:9000","aud":["https://other.example","http://127.0.0.1:8787"],"exp":%d,"azp":"machine","sub":null}'%(NOW+60))
w('claims-no-aud-check',17,'{"iss":"http://127.0.0.1:9000","exp":%d.5,"nbf":%d,"iat":%d}'%(NOW+60,NOW+30,NOW))
w('claims-escaped',1,'{"i\\u0073s":"http:\\/\\/127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":%d,"scope":"api:read\\u0020api:write noise:1"}'%(NOW+60))
w('claims-duplicate-exp',1,'{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":%d,"exp":%d}'%(NOW+60,NOW+60))
w('claims-expired',1,'{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":%d}'%(NOW))
