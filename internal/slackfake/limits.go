package slackfake

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The Block Kit limits Slack enforces, as npm @slack/types@3.2.0 states them in its
// doc comments (dist/block-kit/blocks.d.ts, block-elements.d.ts, extensions.d.ts,
// composition-objects.d.ts, views.d.ts). The types are not machine-readable, so this
// table is written by hand; each entry names the file and interface it comes from.
// Lengths are in characters, as Slack counts them.
const (
	maxMessageBlocks = 50  // chat.postMessage reference, "blocks": up to 50 blocks per message (chunk.d.ts BlocksChunk: "Maximum of 50 blocks")
	maxViewBlocks    = 100 // views.d.ts BaseView.blocks: "Max of 100 blocks"
	maxBlockID       = 255 // blocks.d.ts Block.block_id
	maxSectionText   = 3000
	maxSectionFields = 10   // blocks.d.ts SectionBlock.fields: "Maximum number of items is 10"
	maxFieldText     = 2000 // blocks.d.ts SectionBlock.fields: "Maximum length for the text in each item is 2000"
	maxHeaderText    = 150  // blocks.d.ts HeaderBlock.text
	maxContextElems  = 10   // blocks.d.ts ContextBlock.elements
	maxActionsElems  = 25   // blocks.d.ts ActionsBlock.elements
	maxInputLabel    = 2000 // blocks.d.ts InputBlock.label and hint
	maxActionID      = 255  // extensions.d.ts Actionable.action_id
	maxButtonText    = 75   // block-elements.d.ts Button.text
	maxButtonValue   = 2000 // block-elements.d.ts Button.value
	maxButtonURL     = 3000 // block-elements.d.ts Button.url
	maxConfirmTitle  = 100  // composition-objects.d.ts ConfirmationDialog.title
	maxConfirmText   = 300  // composition-objects.d.ts ConfirmationDialog.text
	maxConfirmButton = 30   // composition-objects.d.ts ConfirmationDialog.confirm and deny
	maxModalTitle    = 24   // views.d.ts ModalView.title, close and submit
	maxPrivateMeta   = 3000 // views.d.ts BaseView.private_metadata
	maxCallbackID    = 255  // views.d.ts BaseView.callback_id
	// maxMessageText is where chat.postMessage answers msg_too_long: "Slack will
	// truncate messages containing more than 40,000 characters" and lists
	// msg_too_long (chat.postMessage reference, "Truncating content" and "Errors").
	maxMessageText = 40000
)

// blockErrors lists how blocks break Slack's limits, in Slack's own wording
// ("must be less than 3001 characters [json-pointer:/blocks/0/text/text]"), for the
// "errors" of an invalid_blocks answer. limit is maxMessageBlocks or maxViewBlocks.
func blockErrors(raw []byte, limit int, pointer string) []string {
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return []string{"invalid blocks: " + err.Error()}
	}
	var errs []string
	add := func(at, msg string) { errs = append(errs, fmt.Sprintf("%s [json-pointer:%s]", msg, at)) }
	if len(blocks) > limit {
		add(pointer, fmt.Sprintf("no more than %d items allowed", limit))
	}
	for i, b := range blocks {
		at := fmt.Sprintf("%s/%d", pointer, i)
		maxLen(add, at+"/block_id", b["block_id"], maxBlockID)
		switch b["type"] {
		case "section":
			textLen(add, at+"/text", b["text"], maxSectionText)
			if fields, _ := b["fields"].([]any); len(fields) > 0 {
				if len(fields) > maxSectionFields {
					add(at+"/fields", fmt.Sprintf("no more than %d items allowed", maxSectionFields))
				}
				for j, f := range fields {
					textLen(add, fmt.Sprintf("%s/fields/%d", at, j), f, maxFieldText)
				}
			}
			if acc, ok := b["accessory"].(map[string]any); ok {
				elementErrors(add, at+"/accessory", acc)
			}
		case "header":
			textLen(add, at+"/text", b["text"], maxHeaderText)
		case "context":
			if els, _ := b["elements"].([]any); len(els) > maxContextElems {
				add(at+"/elements", fmt.Sprintf("no more than %d items allowed", maxContextElems))
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) > maxActionsElems {
				add(at+"/elements", fmt.Sprintf("no more than %d items allowed", maxActionsElems))
			}
			for j, e := range els {
				if el, ok := e.(map[string]any); ok {
					elementErrors(add, fmt.Sprintf("%s/elements/%d", at, j), el)
				}
			}
		case "input":
			textLen(add, at+"/label", b["label"], maxInputLabel)
			textLen(add, at+"/hint", b["hint"], maxInputLabel)
			if el, ok := b["element"].(map[string]any); ok {
				elementErrors(add, at+"/element", el)
			}
		}
	}
	return errs
}

// elementErrors checks an interactive element (button, select, input, ...).
func elementErrors(add func(at, msg string), at string, el map[string]any) {
	maxLen(add, at+"/action_id", el["action_id"], maxActionID)
	if el["type"] == "button" {
		textLen(add, at+"/text", el["text"], maxButtonText)
		maxLen(add, at+"/value", el["value"], maxButtonValue)
		maxLen(add, at+"/url", el["url"], maxButtonURL)
	}
	if c, ok := el["confirm"].(map[string]any); ok {
		textLen(add, at+"/confirm/title", c["title"], maxConfirmTitle)
		textLen(add, at+"/confirm/text", c["text"], maxConfirmText)
		textLen(add, at+"/confirm/confirm", c["confirm"], maxConfirmButton)
		textLen(add, at+"/confirm/deny", c["deny"], maxConfirmButton)
	}
}

// textLen checks a text object's "text" (empty text is refused as Slack refuses it).
func textLen(add func(at, msg string), at string, obj any, limit int) {
	o, ok := obj.(map[string]any)
	if !ok || o == nil {
		return
	}
	s, _ := o["text"].(string)
	if s == "" {
		add(at+"/text", "must be more than 0 characters")
		return
	}
	maxLen(add, at+"/text", s, limit)
}

func maxLen(add func(at, msg string), at string, v any, limit int) {
	if s, ok := v.(string); ok && utf8.RuneCountInString(s) > limit {
		add(at, fmt.Sprintf("must be less than %d characters", limit+1))
	}
}

// viewErrors checks a modal's own limits and its blocks.
func viewErrors(raw []byte) []string {
	var v struct {
		Type            string          `json:"type"`
		Title           map[string]any  `json:"title"`
		Close           map[string]any  `json:"close"`
		Submit          map[string]any  `json:"submit"`
		Blocks          json.RawMessage `json:"blocks"`
		PrivateMetadata string          `json:"private_metadata"`
		CallbackID      string          `json:"callback_id"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return []string{"invalid view: " + err.Error()}
	}
	var errs []string
	add := func(at, msg string) { errs = append(errs, fmt.Sprintf("%s [json-pointer:%s]", msg, at)) }
	if v.Type == "modal" {
		if v.Title == nil {
			add("/view/title", "missing required field: title")
		}
		textLen(add, "/view/title", v.Title, maxModalTitle)
		textLen(add, "/view/close", v.Close, maxModalTitle)
		textLen(add, "/view/submit", v.Submit, maxModalTitle)
		// views.d.ts ModalView.submit: "submit is required when an input block is
		// within the blocks array".
		if v.Submit == nil && strings.Contains(string(v.Blocks), `"type":"input"`) {
			add("/view/submit", "submit is required when an input block is present")
		}
	}
	maxLen(add, "/view/private_metadata", v.PrivateMetadata, maxPrivateMeta)
	maxLen(add, "/view/callback_id", v.CallbackID, maxCallbackID)
	if len(v.Blocks) > 0 {
		errs = append(errs, blockErrors(v.Blocks, maxViewBlocks, "/view/blocks")...)
	}
	return errs
}
