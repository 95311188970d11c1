package admin

import (
	"strings"
	"testing"
)

func TestMaskField(t *testing.T) {
	for _, tc := range []struct {
		name, key, in, want string
	}{
		{"Mobile", "mobile", "13812345678", "138****5678"},
		{"PhoneSnakeCase", "contact_phone", "13812345678", "138****5678"},
		{"Contact", "contact", "13812345678", "138****5678"},
		{"ContactEmail", "contact", "alice@example.com", "a***@example.com"},
		{"IDCard", "idCardNo", "110101199003071234", "110***********1234"},
		{"CardNo", "cardNo", "6222020200112233", "622*********2233"},
		{"ShortNumber", "phone", "12345", "*****"},
		{"PersonName", "name", "张三", "张*"},
		{"ThreeCharName", "tenantName", "欧阳娜", "欧**"},
		{"SnakeTenantName", "tenant_name", "上海某某科技有限公司", "上*********"},
		{"OneCharName", "name", "张", "张*"},
		{"LegalPerson", "legalPerson", "李四", "李*"},
		{"ASCIIName", "userName", "Bob", "B**"},
		{"Empty", "mobile", "", ""},
		{"NotPersonal", "status", "SIGNING", "SIGNING"},
		{"FileName", "fileName", "合同.pdf", "合同.pdf"},
		{"DocumentTitle", "title", "租赁合同", "租赁合同"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MaskField(tc.key, tc.in); got != tc.want {
				t.Errorf("MaskField(%q, %q) = %q, want %q", tc.key, tc.in, got, tc.want)
			}
		})
	}
}

func TestMaskJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in  string
		want      []string // substrings that must appear
		forbidden []string // substrings that must not
	}{
		{
			name:      "Nested",
			in:        `{"signatories":[{"tenantName":"张三","receiver":{"mobile":"13812345678","name":"李四"}}],"status":"SIGNING"}`,
			want:      []string{`"张*"`, `"138****5678"`, `"李*"`, `"SIGNING"`},
			forbidden: []string{"张三", "13812345678", "李四"},
		},
		{
			// The notices' people (personal signing authorisation,
			// physical seal): seen unmasked by a viewer before.
			name:      "Notices",
			in:        `{"assignee":"李四","user":"张三","number":"13800138000","item":"AUTHORIZE"}`,
			want:      []string{`"李*"`, `"张*"`, `"138****8000"`, `"AUTHORIZE"`},
			forbidden: []string{"李四", "张三", "13800138000"},
		},
		{
			name:      "NumberValue",
			in:        `{"mobile":13812345678,"count":3}`,
			want:      []string{`"138****5678"`, `"count":3`},
			forbidden: []string{"13812345678"},
		},
		{
			name:      "JSONInString",
			in:        `{"raw":"{\"contact\":\"13812345678\",\"idCardNo\":\"110101199003071234\"}"}`,
			want:      []string{`138****5678`, `110***********1234`},
			forbidden: []string{"13812345678", "110101199003071234"},
		},
		{
			name:      "NotJSON",
			in:        `mobile=13812345678`,
			want:      []string{"not JSON"},
			forbidden: []string{"13812345678"},
		},
		{
			name: "TrailingGarbage",
			in:   `{"a":1} 13812345678`,
			want: []string{"not JSON"}, forbidden: []string{"13812345678"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(MaskJSON([]byte(tc.in)))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("MaskJSON = %s, want it to contain %s", got, w)
				}
			}
			for _, f := range tc.forbidden {
				if strings.Contains(got, f) {
					t.Errorf("MaskJSON = %s, leaks %s", got, f)
				}
			}
		})
	}
	if got := MaskJSON(nil); got != nil {
		t.Errorf("MaskJSON(nil) = %s, want nil", got)
	}
}
