#!/bin/bash
# Records what Kamailio 5.6.3 (xhttp + jsonrpcs + dispatcher, see kamailio.cfg)
# answers on /RPC. Run: kamailio -f kamailio.cfg -E, then ./probe.sh > transcript-5.6.3.txt.
# The "Sia:" header in the transcript is an xhttp quirk (it rewrites the Via it
# adds internally); clients ignore it.
U=http://127.0.0.1:18080/RPC
c() { # name, curl args...
  n=$1; shift
  echo "=== $n"
  curl -si -m 3 "$@" | tr -d '\r'
  echo; echo "--- rc=$?"
}
J='-H Content-Type:application/json'
c good_num_id -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":1}' $U
c good_str_id -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":"abc"}' $U
c good_null_id -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":null}' $U
c good_float_id -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":1.5}' $U
c good_obj_id -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":{"a":1}}' $U
c good_big_id -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":123456789012345}' $U
c notification -X POST $J -d '{"jsonrpc":"2.0","method":"core.version"}' $U
c no_jsonrpc -X POST $J -d '{"method":"core.version","id":7}' $U
c jsonrpc_1 -X POST $J -d '{"jsonrpc":"1.0","method":"core.version","id":7}' $U
c unknown_method -X POST $J -d '{"jsonrpc":"2.0","method":"no.such","id":2}' $U
c missing_method -X POST $J -d '{"jsonrpc":"2.0","id":2}' $U
c method_number -X POST $J -d '{"jsonrpc":"2.0","method":5,"id":2}' $U
c ds_list -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.list","id":3}' $U
c set_state_good -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["i",1,"sip:127.0.0.1:5171"],"id":4}' $U
c set_state_group_string -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["i","1","sip:127.0.0.1:5171"],"id":5}' $U
c set_state_missing -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["i"],"id":6}' $U
c set_state_unknown_dst -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["i",1,"sip:127.0.0.1:9"],"id":6}' $U
c set_state_bad_state -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["x",1,"sip:127.0.0.1:5171"],"id":6}' $U
c params_object -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.set_state","params":{"state":"i","group":1,"address":"sip:127.0.0.1:5171"},"id":8}' $U
c params_string -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","params":"x","id":8}' $U
c extra_params -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","params":[1,2],"id":8}' $U
c batch -X POST $J -d '[{"jsonrpc":"2.0","method":"core.version","id":1},{"jsonrpc":"2.0","method":"core.uptime","id":2}]' $U
c batch_empty -X POST $J -d '[]' $U
c empty_body -X POST $J -d '' $U
c bad_json -X POST $J -d '{"jsonrpc":"2.0","method":' $U
c not_object -X POST $J -d '42' $U
c trailing_garbage -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":1} xyz' $U
c text_plain -X POST -H 'Content-Type: text/plain' -d '{"jsonrpc":"2.0","method":"core.version","id":1}' $U
c no_ctype -X POST -H 'Content-Type:' -d '{"jsonrpc":"2.0","method":"core.version","id":1}' $U
c form_ctype -X POST -d '{"jsonrpc":"2.0","method":"core.version","id":1}' $U
c get $U
c get_query "$U?jsonrpc=2.0&method=core.version&id=1"
c put -X PUT $J -d '{"jsonrpc":"2.0","method":"core.version","id":1}' $U
c listmethods -X POST $J -d '{"jsonrpc":"2.0","method":"system.listMethods","id":9}' $U
c core_help -X POST $J -d '{"jsonrpc":"2.0","method":"system.methodHelp","params":["core.version"],"id":9}' $U
c core_help2 -X POST $J -d '{"jsonrpc":"2.0","method":"core.help","params":["core.version"],"id":9}' $U
c uptime -X POST $J -d '{"jsonrpc":"2.0","method":"core.uptime","id":10}' $U
c ping_active -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.ping_active","id":11}' $U
c reload -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.reload","id":12}' $U
c reload_again -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.reload","id":13}' $U
c stats -X POST $J -d '{"jsonrpc":"2.0","method":"stats.fetch","params":["dispatcher:"],"id":14}' $U
c path_other -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":1}' http://127.0.0.1:18080/RPC/x
c method_help_unknown -X POST $J -d '{"jsonrpc":"2.0","method":"system.methodHelp","params":["no.such"],"id":1}' $U
c method_help_noparam -X POST $J -d '{"jsonrpc":"2.0","method":"system.methodHelp","id":1}' $U
c method_signature -X POST $J -d '{"jsonrpc":"2.0","method":"system.methodSignature","params":["core.version"],"id":1}' $U
c id_escaped_string -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":"a\"b\u00e9\n"}' $U
c id_true -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":true}' $U
c id_exp -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":1e3}' $U
c id_huge -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":99999999999999999999}' $U
c set_state_float_group -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["i",1.7,"sip:127.0.0.1:5171"],"id":4}' $U
c set_state_number_state -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.set_state","params":[1,1,"sip:127.0.0.1:5171"],"id":4}' $U
c set_state_number_addr -X POST $J -d '{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["a",1,5],"id":4}' $U
c duplicate_id -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","id":1,"id":2}' $U
c method_case -X POST $J -d '{"jsonrpc":"2.0","method":"Core.Version","id":1}' $U
c params_null -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","params":null,"id":1}' $U
c params_empty_object -X POST $J -d '{"jsonrpc":"2.0","method":"core.version","params":{},"id":1}' $U
c jsonrpc_number -X POST $J -d '{"jsonrpc":2.0,"method":"core.version","id":1}' $U
c leading_space -X POST $J -d ' {"jsonrpc":"2.0","method":"core.version","id":1}' $U
c origin_header -X POST $J -H 'Origin: http://evil.example' -d '{"jsonrpc":"2.0","method":"core.version","id":1}' $U
c chunked -X POST $J -H 'Transfer-Encoding: chunked' -d '{"jsonrpc":"2.0","method":"core.version","id":1}' $U
python3 -c "import json; print(json.dumps({'jsonrpc':'2.0','method':'core.version','params':['x'*100000],'id':1}))" > /tmp/kam_big.json
c body_100k -X POST $J --data-binary @/tmp/kam_big.json $U
